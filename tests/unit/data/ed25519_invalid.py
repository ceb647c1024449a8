#!/usr/bin/env python3
"""Build the invalid Ed25519 signatures of tests/unit/test_ed25519.c and check why each matters.

Every case must be rejected by moat's verifier (core/ed25519.c). For each one this script also
checks, with a small textbook Ed25519 written here, which weaker verifier WOULD accept it:
  lax        - cofactorless, but no S < L check, y reduced mod p, no small-order check, x = 0 with
               the sign bit set read as x = 0 (what some libraries did);
  cofactored - like lax, but checks [8][S]B == [8]R + [8][k]A (RFC 8032 §5.1.7 permits this).
Run: python3 tests/unit/data/ed25519_invalid.py   (prints the C table; stdlib only, deterministic)
"""
import hashlib

p = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
d = -121665 * pow(121666, p - 2, p) % p
SQRT_M1 = pow(2, (p - 1) // 4, p)


def add(P, Q):
    # RFC 8032 §5.1.4 (extended coordinates, a = -1)
    a = (P[1] - P[0]) * (Q[1] - Q[0]) % p
    b = (P[1] + P[0]) * (Q[1] + Q[0]) % p
    c = 2 * d * P[3] * Q[3] % p
    dd = 2 * P[2] * Q[2] % p
    e, f, g, h = b - a, dd - c, dd + c, b + a
    return (e * f % p, g * h % p, f * g % p, e * h % p)


def mul(k, P):
    Q = (0, 1, 1, 0)
    while k:
        if k & 1:
            Q = add(Q, P)
        P = add(P, P)
        k >>= 1
    return Q


def encode(P):
    zi = pow(P[2], p - 2, p)
    x, y = P[0] * zi % p, P[1] * zi % p
    return (y | (x & 1) << 255).to_bytes(32, "little")


def decode_lax(s):
    """Reduce y mod p; x = 0 with the sign bit set gives x = 0. None if not on the curve."""
    v = int.from_bytes(s, "little")
    sign, y = v >> 255, (v & (2**255 - 1)) % p
    x2 = (y * y - 1) * pow(d * y * y + 1, p - 2, p) % p
    x = pow(x2, (p + 3) // 8, p)
    if (x * x - x2) % p:
        x = x * SQRT_M1 % p
    if (x * x - x2) % p:
        return None
    if x & 1 != sign and x:
        x = p - x
    return (x, y, 1, x * y % p)


def is_identity(P):
    return P[0] % p == 0 and (P[1] - P[2]) % p == 0


def eq(P, Q):
    return is_identity(add(P, (p - Q[0], Q[1], Q[2], p - Q[3])))


B = decode_lax((4 * pow(5, p - 2, p)).to_bytes(32, "little"))


def H(*parts):
    return int.from_bytes(hashlib.sha512(b"".join(parts)).digest(), "little")


def verify(pk, msg, sig, cofactor):
    A, R, S = decode_lax(pk), decode_lax(sig[:32]), int.from_bytes(sig[32:], "little")
    if A is None or R is None:
        return False
    k = H(sig[:32], pk, msg) % L
    lhs, rhs = mul(S, B), add(R, mul(k, A))
    return eq(mul(cofactor, lhs), mul(cofactor, rhs))


def order(P):
    for n in (1, 2, 4, 8):
        if is_identity(mul(n, P)):
            return n
    return None


# The signer of RFC 8032 §7.1 TEST 2: seed 4ccd...a6fb, message 0x72.
seed = bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
h = hashlib.sha512(seed).digest()
a = int.from_bytes(h[:32], "little") & (2**254 - 8) | 2**254
PK = encode(mul(a, B))
MSG = bytes([0x72])
r = H(h[32:], MSG) % L
R = encode(mul(r, B))
S = (r + H(R, PK, MSG) % L * a) % L
SIG = R + S.to_bytes(32, "little")
assert verify(PK, MSG, SIG, 1) and SIG.hex().startswith("92a009a9")


def le(n):
    return n.to_bytes(32, "little")


# The 8 small-order points (the torsion subgroup): [L]P is in it for any curve point P, and
# the multiples of [L]P for a few P cover it.
def torsion():
    pts = {}
    y = 2
    while len(pts) < 8:
        P = decode_lax(le(y))
        if P is not None:
            T = mul(L, P)
            for k in range(8):
                Q = mul(k, T)
                pts[encode(Q)] = Q
        y += 1
    return sorted(pts.items(), key=lambda e: (order(e[1]), e[0]))


cases = []


def case(why, pk, msg, sig, accepted_by):
    assert len(pk) == 32 and len(sig) == 64
    for name, cof in (("lax", 1), ("cofactored", 8)):
        if name in accepted_by:
            assert verify(pk, msg, sig, cof), (why, name)
    cases.append((why, pk, msg, sig, accepted_by))


def sig_any_message_small_a(A_enc, ordA):
    """(R, S) = ([r]B, r) with ord(A) | k: then [k]A = identity and [S]B == R + [k]A."""
    for rr in range(1, 10000):
        Renc = encode(mul(rr, B))
        if H(Renc, A_enc, MSG) % L % ordA == 0:
            return Renc + le(rr)
    raise SystemExit("no r")


# 1. S out of range.
case("S + L: the same equation holds ([L]B = identity), a second signature of the same message",
     PK, MSG, R + le(S + L), ["lax", "cofactored"])
case("S + 2L", PK, MSG, R + le(S + 2 * L), ["lax", "cofactored"])
case("S = L exactly: the boundary of S < L", PK, MSG, R + le(L), [])
case("S with the top bit set (S >= 2^255)", PK, MSG, R + le(S | 1 << 255), [])

# 2. Non-canonical encodings (y >= p, or x = 0 with the sign bit set).
ID_NONCANON = le(p + 1)  # y = p + 1 = 1 (mod p): the identity (0, 1)
case("A = y = p+1, a non-canonical identity: with R = [r]B, S = r it verifies any message", ID_NONCANON, MSG,
     R + le(r), ["lax", "cofactored"])
k_id = H(ID_NONCANON, PK, MSG) % L
case("R = y = p+1, a non-canonical identity, S = k*a: the equation holds", PK, MSG,
     ID_NONCANON + le(k_id * a % L), ["lax", "cofactored"])
# y in [2, 18] that lie on the curve have a second encoding y + p < 2^255; no one knows their discrete
# logarithms, so no signature verifies for them: the encoding alone must make these fail.
big = [y for y in range(2, 19) if decode_lax(le(y)) is not None and order(decode_lax(le(y))) is None]
y0 = big[0]
case("A = y = p+%d (y >= p: the second encoding of a point not of small order)" % y0, le(p + y0), MSG, SIG, [])
case("R = y = p+%d (y >= p: the second encoding of a point not of small order)" % y0, PK, MSG, le(p + y0) + SIG[32:], [])
case("A = 2^255 - 1 (y = p + 18 with the sign bit: the largest encoding)", bytes([0xff] * 32), MSG, SIG, [])
NEG_ZERO = le(1 | 1 << 255)  # (x, y) = (0, 1) with the sign bit set: "-0"
case("A = identity with x = 0 and the sign bit set: with R = [r]B, S = r it verifies any message", NEG_ZERO, MSG,
     R + le(r), ["lax", "cofactored"])
k_nz = H(NEG_ZERO, PK, MSG) % L
case("R = identity with x = 0 and the sign bit set, S = k*a: the equation holds", PK, MSG,
     NEG_ZERO + le(k_nz * a % L), ["lax", "cofactored"])
case("A = (0, -1) with the sign bit set (x = 0 has no negative)", le(p - 1 | 1 << 255), MSG, SIG, [])
# y with no x on the curve: u/v not a square.
nosq = next(y for y in range(2, 100) if decode_lax(le(y)) is None)
case("A = y = %d: no curve point has this y" % nosq, le(nosq), MSG, SIG, [])
case("R = y = %d: no curve point has this y" % nosq, PK, MSG, le(nosq) + SIG[32:], [])

# 3. Small order: each of the 8 torsion points as A (forged: verifies without any secret) and as R.
for enc, T in torsion():
    n = order(T)
    case("A = small-order point (order %d), R = [r]B, S = r chosen so that %d divides k" % (n, n), enc, MSG,
         sig_any_message_small_a(enc, n), ["lax", "cofactored"])
for enc, T in torsion():
    n = order(T)
    k_t = H(enc, PK, MSG) % L
    case("R = small-order point (order %d), S = k*a: [8]R = identity, so a cofactored check passes" % n, PK,
         MSG, enc + le(k_t * a % L), ["cofactored"] + (["lax"] if n == 1 else []))

# 4. A signature whose nonce point is [r]B plus a point of order 8 (R of mixed order): the cofactored
#    equation holds, the cofactorless one does not (T8 is left over), so verifiers disagree on it;
#    moat's rule is cofactorless and rejects it.
T8 = [T for enc, T in torsion() if order(T) == 8][0]
R8 = encode(add(mul(r, B), T8))
case("R = [r]B + T8 (T8 of order 8), S = r + k*a for this R: passes only a cofactored check", PK, MSG,
     R8 + le((r + H(R8, PK, MSG) % L * a) % L), ["cofactored"])

print("/* Generated by tests/unit/data/ed25519_invalid.py: signer = RFC 8032 TEST 2, message 0x72. */")
for why, pk, msg, sig, acc in cases:
    print("\t/* would pass: %s */" % (", ".join(acc) or "no verifier; must fail on its own"))
    print("\t{ \"%s\"," % why)
    print("\t  \"%s\"," % pk.hex())
    print("\t  \"%s\"" % sig[:32].hex())
    print("\t  \"%s\" }," % sig[32:].hex())
