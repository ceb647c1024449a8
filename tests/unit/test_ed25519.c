/*
 * Unit tests for core/ed25519.c.
 *
 * Where every vector comes from:
 * - rfc8032[]: RFC 8032 §7.1, TEST 1, 2, 3, 1024 and SHA(abc). TEST 1-3 and
 *   1024 are also lines 1, 2, 3 and 1024 of SUPERCOP's sign.input, which
 *   Debian ships in python3-cryptography-vectors 38.0.4
 *   (cryptography_vectors/asymmetric/Ed25519/sign.input); the values were
 *   copied from that file. SHA(abc)'s message is SHA-512("abc").
 * - sign_input[]: four more lines of that same sign.input (lines 4, 33, 65,
 *   129: messages of 3, 32, 64 and 128 bytes), copied as data. Each line is
 *   seed||pk : pk : message : signature||message.
 * - invalid[]: constructed by tests/unit/data/ed25519_invalid.py (Python,
 *   stdlib only; run it to regenerate the table), because Debian's archive
 *   has no Wycheproof package and python3-cryptography-vectors holds only
 *   valid Ed25519 vectors. The signer is TEST 2's key, the message 0x72. For
 *   each case the script checks which weaker verifier would accept it (the
 *   comment after each name): "lax" = cofactorless without the S < L,
 *   canonical-encoding and small-order checks; "cofactored" = the same with
 *   RFC 8032's optional [8] on both sides. Cases no verifier accepts are the
 *   boundaries of a check (S = L) or encodings whose discrete log nobody
 *   knows, so they must fail on the check alone. The small-order points are
 *   the 8 elements of the torsion subgroup: order 1 (0, 1) = 01 00..00;
 *   order 2 (0, -1) = ec ff..ff 7f; order 4 (+-sqrt(-1), 0) = 00..00 and
 *   00..00 80; order 8: 26e8958f..fc05, 26e8958f..fc85, c7176a70..037a,
 *   c7176a70..03fa.
 * - Single-bit flips of every valid vector's R, S, A and message.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "ed25519.h"

struct vector {
	const char *name;
	const char *seed, *public_key, *msg, *signature; /* hex */
};

static const struct vector rfc8032[] = {
	{ "TEST 1", /* RFC 8032 §7.1; sign.input line 1 */
	  "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
	  "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
	  "",
	  "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
	  "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b" },
	{ "TEST 2", /* RFC 8032 §7.1; sign.input line 2 */
	  "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
	  "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
	  "72",
	  "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
	  "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00" },
	{ "TEST 3", /* RFC 8032 §7.1; sign.input line 3 */
	  "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
	  "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
	  "af82",
	  "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
	  "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a" },
	{ "TEST 1024", /* RFC 8032 §7.1; sign.input line 1024 */
	  "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
	  "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e",
	  "08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98fa6e264bf09efe12ee50f8f54e9f77b1"
	  "e355f6c50544e23fb1433ddf73be84d879de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b20329d"
	  "658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc1a858efcb8550ee3a5e1998bd177e93a"
	  "7363c344fe6b199ee5d02e82d522c4feba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e"
	  "06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbefefd75499da96bd68a8a97b928a8bbc10"
	  "3b6621fcde2beca1231d206be6cd9ec7aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed1"
	  "85ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2d17ba70eb6248e594e1a2297acbbb39d"
	  "502f1a8c6eb6f1ce22b3de1a1f40cc24554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f270"
	  "88d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbcc2732e69485bbc9c90bfbd62481d9089b"
	  "eccf80cfe2df16a2cf65bd92dd597b0707e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128ba"
	  "b27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51addd3b75a2b1ae0784504df543af8969b"
	  "e3ea7082ff7fc9888c144da2af58429ec96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9b47acdb7"
	  "51fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c42f58c30c04aafdb038dda0847dd988d"
	  "cda6f3bfd15c4b4c4525004aa06eeff8ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34df"
	  "f7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08d78ff4ef5d63653a65040cf9bfd4aca7"
	  "984a74d37145986780fc0b16ac451649de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e4"
	  "88acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a32ef5b52a1ecc820e308aa342721aac09"
	  "43bf6686b64b2579376504ccc493d97e6aed3fb0f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5f"
	  "b93246f6b1116398a346f1a641f3b041e989f7914f90cc2c7fff357876e506b50d334ba77c225bc307ba537152f3f161"
	  "0e4eafe595f6d9d90d11faa933a15ef1369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380d"
	  "b2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c0618983f8741c5ef68d3a101e8a3b8ca"
	  "c60c905c15fc910840b94c00a0b9d0"
	  ,
	  "0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350"
	  "aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03" },
	{ "TEST SHA(abc)", /* RFC 8032 §7.1 */
	  "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
	  "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
	  "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd"
	  "454d4423643ce80e2a9ac94fa54ca49f"
	  ,
	  "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b589"
	  "09351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704" },
};

static const struct vector sign_input[] = {
	{ "sign.input 4", /* sign.input line 4 */
	  "0d4a05b07352a5436e180356da0ae6efa0345ff7fb1572575772e8005ed978e9",
	  "e61a185bcef2613a6c7cb79763ce945d3b245d76114dd440bcf5f2dc1aa57057",
	  "cbc77b",
	  "d9868d52c2bebce5f3fa5a79891970f309cb6591e3e1702a70276fa97c24b3a8"
	  "e58606c38c9758529da50ee31b8219cba45271c689afa60b0ea26c99db19b00c" },
	{ "sign.input 33", /* sign.input line 33 */
	  "8ed7a797b9cea8a8370d419136bcdf683b759d2e3c6947f17e13e2485aa9d420",
	  "b49f3a78b1c6a7fca8f3466f33bc0e929f01fba04306c2a7465f46c3759316d9",
	  "a750c232933dc14b1184d86d8b4ce72e16d69744ba69818b6ac33b1d823bb2c3",
	  "04266c033b91c1322ceb3446c901ffcf3cc40c4034e887c9597ca1893ba7330b"
	  "ecbbd8b48142ef35c012c6ba51a66df9308cb6268ad6b1e4b03e70102495790b" },
	{ "sign.input 65", /* sign.input line 65 */
	  "ba4d6e67b2ce67a1e44326494044f37a442f3b81725bc1f9341462718b55ee20",
	  "f73fa076f84b6db675a5fda5ad67e351a41e8e7f29add16809ca010387e9c6cc",
	  "4bafdac9099d4057ed6dd08bcaee8756e9a40f2cb9598020eb95019528409bbea38b384a59f119f57297bfb2fa142fc7"
	  "bb1d90dbddde772bcde48c5670d5fa13"
	  ,
	  "57b9d2a711207f837421bae7dd48eaa18eab1a9a70a0f1305806fee17b458f3a"
	  "0964b302d1834d3e0ac9e8496f000b77f0083b41f8a957e632fbc7840eee6a06" },
	{ "sign.input 129", /* sign.input line 129 */
	  "8400962bb769f63868cae5a3fec8db6a9c8d3f1c846c8dceeb642b6946efa8e3",
	  "98be21001993a7eb1a1277ff74c15504183d25fdfcc05f0d4dea892f6e301890",
	  "f7e67d982a2ff93ecda4087152b4864c943b1ba7021f5407043ccb4253d348c27b9283acb26c194fd1cbb79e6afc32ff"
	  "686b55b0b3617218dcf39316b4b66b3c8c0d67267a86db8adf3750801bcf9327d4c25441b96197832b4cde0eac3ff228"
	  "92a2f0bc17c2c213c02377a333e308ed271658049383b7e2e57b6b8b125512e0"
	  ,
	  "0ad71b0025f3d9a50db338414d6d670e7799b7270a8444f6ae7f12ae7eb71bd0"
	  "3ffd3c4f36631f69fdcc4061468ff582ede495243ef1361a3b3295fa813ba205" },
};

/* Each must be rejected; why, and which weaker verifier would take it, in the name and comment. */
static const struct {
	const char *why;
	const char *public_key, *signature;
} invalid[] = {
/* Generated by tests/unit/data/ed25519_invalid.py: signer = RFC 8032 TEST 2, message 0x72. */
	/* would pass: lax, cofactored */
	{ "S + L: the same equation holds ([L]B = identity), a second signature of the same message",
	  "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
	  "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
	  "f52db7415978abc61b2c2eb6aeebfca0387b2eaeb4302aeeb00d291612bb0c10" },
	/* would pass: lax, cofactored */
	{ "S + 2L",
	  "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
	  "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
	  "e201ad9e73dbbd1ef2c825598de5dbb5387b2eaeb4302aeeb00d291612bb0c20" },
	/* would pass: no verifier; must fail on its own */
	{ "S = L exactly: the boundary of S < L",
	  "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
	  "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
	  "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010" },
	/* would pass: no verifier; must fail on its own */
	{ "S with the top bit set (S >= 2^255)",
	  "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
	  "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
	  "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c80" },
	/* would pass: lax, cofactored */
	{ "A = y = p+1, a non-canonical identity: with R = [r]B, S = r it verifies any message",
	  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	  "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
	  "8fbfff709903dbcc23af59ab09657ea6697185a1b5072a52c83a5d9edb2e3308" },
	/* would pass: lax, cofactored */
	{ "R = y = p+1, a non-canonical identity, S = k*a: the equation holds",
	  "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
	  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"
	  "0a0403c78756704394a791302d07acbdf846e02e6371010b73f9c021313bde01" },
	/* would pass: no verifier; must fail on its own */
	{ "A = y = p+3 (y >= p: the second encoding of a point not of small order)",
	  "f0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	  "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
	  "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00" },
	/* would pass: no verifier; must fail on its own */
	{ "R = y = p+3 (y >= p: the second encoding of a point not of small order)",
	  "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
	  "f0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"
	  "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00" },
	/* would pass: no verifier; must fail on its own */
	{ "A = 2^255 - 1 (y = p + 18 with the sign bit: the largest encoding)",
	  "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	  "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
	  "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00" },
	/* would pass: lax, cofactored */
	{ "A = identity with x = 0 and the sign bit set: with R = [r]B, S = r it verifies any message",
	  "0100000000000000000000000000000000000000000000000000000000000080",
	  "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
	  "8fbfff709903dbcc23af59ab09657ea6697185a1b5072a52c83a5d9edb2e3308" },
	/* would pass: lax, cofactored */
	{ "R = identity with x = 0 and the sign bit set, S = k*a: the equation holds",
	  "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
	  "0100000000000000000000000000000000000000000000000000000000000080"
	  "bd498620dc071c7bd37de37a8b3208e5475dd11db9151270fb200f690ae0d009" },
	/* would pass: no verifier; must fail on its own */
	{ "A = (0, -1) with the sign bit set (x = 0 has no negative)",
	  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	  "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
	  "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00" },
	/* would pass: no verifier; must fail on its own */
	{ "A = y = 2: no curve point has this y",
	  "0200000000000000000000000000000000000000000000000000000000000000",
	  "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
	  "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00" },
	/* would pass: no verifier; must fail on its own */
	{ "R = y = 2: no curve point has this y",
	  "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
	  "0200000000000000000000000000000000000000000000000000000000000000"
	  "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00" },
	/* would pass: lax, cofactored */
	{ "A = small-order point (order 1), R = [r]B, S = r chosen so that 1 divides k",
	  "0100000000000000000000000000000000000000000000000000000000000000",
	  "5866666666666666666666666666666666666666666666666666666666666666"
	  "0100000000000000000000000000000000000000000000000000000000000000" },
	/* would pass: lax, cofactored */
	{ "A = small-order point (order 2), R = [r]B, S = r chosen so that 2 divides k",
	  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	  "c9a3f86aae465f0e56513864510f3997561fa2c9e85ea21dc2292309f3cd6022"
	  "0200000000000000000000000000000000000000000000000000000000000000" },
	/* would pass: lax, cofactored */
	{ "A = small-order point (order 4), R = [r]B, S = r chosen so that 4 divides k",
	  "0000000000000000000000000000000000000000000000000000000000000000",
	  "2f1132ca61ab38dff00f2fea3228f24c6c71d58085b80e47e19515cb27e8d047"
	  "0400000000000000000000000000000000000000000000000000000000000000" },
	/* would pass: lax, cofactored */
	{ "A = small-order point (order 4), R = [r]B, S = r chosen so that 4 divides k",
	  "0000000000000000000000000000000000000000000000000000000000000080",
	  "b862409fb5c4c4123df2abf7462b88f041ad36dd6864ce872fd5472be363c5b1"
	  "0700000000000000000000000000000000000000000000000000000000000000" },
	/* would pass: lax, cofactored */
	{ "A = small-order point (order 8), R = [r]B, S = r chosen so that 8 divides k",
	  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
	  "eb2767c137ab7ad8279c078eff116ab0786ead3a2e0f989f72c37f82f2969670"
	  "1000000000000000000000000000000000000000000000000000000000000000" },
	/* would pass: lax, cofactored */
	{ "A = small-order point (order 8), R = [r]B, S = r chosen so that 8 divides k",
	  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
	  "c9a3f86aae465f0e56513864510f3997561fa2c9e85ea21dc2292309f3cd6022"
	  "0200000000000000000000000000000000000000000000000000000000000000" },
	/* would pass: lax, cofactored */
	{ "A = small-order point (order 8), R = [r]B, S = r chosen so that 8 divides k",
	  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
	  "04be97ec9bfe6ccd01f9343b7288b117b79f91cc45c24af2f93e0060ca2b6d6f"
	  "1100000000000000000000000000000000000000000000000000000000000000" },
	/* would pass: lax, cofactored */
	{ "A = small-order point (order 8), R = [r]B, S = r chosen so that 8 divides k",
	  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
	  "1337036ac32d8f30d4589c3c1c595812ce0fff40e37c6f5a97ab213f318290ad"
	  "0b00000000000000000000000000000000000000000000000000000000000000" },
	/* would pass: cofactored, lax */
	{ "R = small-order point (order 1), S = k*a: [8]R = identity, so a cofactored check passes",
	  "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
	  "0100000000000000000000000000000000000000000000000000000000000000"
	  "675d054595fa17cb6a44e3ada6ca385e55667e41a63fdab0ac22d10000354002" },
	/* would pass: cofactored */
	{ "R = small-order point (order 2), S = k*a: [8]R = identity, so a cofactored check passes",
	  "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
	  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"
	  "fa9f7624aca694623f02d86feb1efd98b11f597197bcd2e64573659db7177e0b" },
	/* would pass: cofactored */
	{ "R = small-order point (order 4), S = k*a: [8]R = identity, so a cofactored check passes",
	  "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
	  "0000000000000000000000000000000000000000000000000000000000000000"
	  "88b1e9b4373807e6e9cf4f4ad4247448be233d6d240a9e4899aa6bc22d93dd03" },
	/* would pass: cofactored */
	{ "R = small-order point (order 4), S = k*a: [8]R = identity, so a cofactored check passes",
	  "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
	  "0000000000000000000000000000000000000000000000000000000000000080"
	  "03cd25ed2e2d578fb66fbc336e64391906a2bd639cec1fe069d6d60474ddd40c" },
	/* would pass: cofactored */
	{ "R = small-order point (order 8), S = k*a: [8]R = identity, so a cofactored check passes",
	  "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
	  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"
	  "9c9934141e47f875e3e839a617afc33b742b807c24040fcb899c123dc1987901" },
	/* would pass: cofactored */
	{ "R = small-order point (order 8), S = k*a: [8]R = identity, so a cofactored check passes",
	  "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
	  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85"
	  "bcecf340ba683260006969993af13d2ed5d23961ad5ab7ebaf6f67cc27fe830d" },
	/* would pass: cofactored */
	{ "R = small-order point (order 8), S = k*a: [8]R = identity, so a cofactored check passes",
	  "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
	  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"
	  "cca5c0159b890822aa8f6ad74990de9393e3036603fe9591d9850310e8abb105" },
	/* would pass: cofactored */
	{ "R = small-order point (order 8), S = k*a: [8]R = identity, so a cofactored check passes",
	  "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
	  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"
	  "2e558b3d24e5d824a9d8a8bf36c7f9b875b07a9cf9020879410e89c0a2e4eb05" },
	/* would pass: cofactored */
	{ "R = [r]B + T8 (T8 of order 8), S = r + k*a for this R: passes only a cofactored check",
	  "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
	  "86ec0678ec23d84b295114ed96d9f75c377edbf1aa67893a0219db78f3070ad8"
	  "0dff8d78b229bce8ced89a05aaea800642c11730d90e260c74b62ff3306a000b" },
};

static size_t unhex(u8 *out, size_t max, const char *hex)
{
	size_t n = strlen(hex) / 2;

	assert_true(n <= max);
	for (size_t i = 0; i < n; i++) {
		unsigned int b;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &b), 1);
		out[i] = (u8)b;
	}
	return n;
}

/* Public key, signature and verification of one known-answer vector, and a few single-bit flips. */
static void check_vector(const struct vector *v)
{
	u8 seed[32], pk[32], sig[64], msg[1024], got_pk[32], got_sig[64];
	size_t len;

	unhex(seed, sizeof(seed), v->seed);
	unhex(pk, sizeof(pk), v->public_key);
	unhex(sig, sizeof(sig), v->signature);
	len = unhex(msg, sizeof(msg), v->msg);

	ed25519_public_key(got_pk, seed);
	assert_memory_equal(got_pk, pk, 32);
	ed25519_sign(got_sig, seed, pk, msg, len);
	assert_memory_equal(got_sig, sig, 64);
	assert_true(ed25519_verify(pk, msg, len, sig));

	/* One flipped bit anywhere -- R (low and sign bit), S (low and high bit), A, message -- must fail. */
	static const unsigned int sig_bits[] = { 0, 255, 256, 500 };
	for (unsigned int i = 0; i < sizeof(sig_bits) / sizeof(sig_bits[0]); i++) {
		sig[sig_bits[i] / 8] ^= (u8)(1 << (sig_bits[i] % 8));
		assert_false(ed25519_verify(pk, msg, len, sig));
		sig[sig_bits[i] / 8] ^= (u8)(1 << (sig_bits[i] % 8));
	}
	pk[7] ^= 0x10;
	assert_false(ed25519_verify(pk, msg, len, sig));
	pk[7] ^= 0x10;
	if (len) {
		msg[len - 1] ^= 1;
		assert_false(ed25519_verify(pk, msg, len, sig));
		msg[len - 1] ^= 1;
	} else {
		assert_false(ed25519_verify(pk, "\0", 1, sig)); /* the empty message grown by one byte */
	}
	assert_true(ed25519_verify(pk, msg, len, sig));
}

static void test_rfc8032_vectors(void **state)
{
	for (unsigned int i = 0; i < sizeof(rfc8032) / sizeof(rfc8032[0]); i++) {
		print_message("%s\n", rfc8032[i].name);
		check_vector(&rfc8032[i]);
	}
}

static void test_sign_input_vectors(void **state)
{
	for (unsigned int i = 0; i < sizeof(sign_input) / sizeof(sign_input[0]); i++) {
		print_message("%s\n", sign_input[i].name);
		check_vector(&sign_input[i]);
	}
}

static void test_invalid_signatures(void **state)
{
	static const u8 msg[1] = { 0x72 };

	unsigned int accepted = 0;

	for (unsigned int i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		u8 pk[32], sig[64];

		unhex(pk, sizeof(pk), invalid[i].public_key);
		unhex(sig, sizeof(sig), invalid[i].signature);
		if (ed25519_verify(pk, msg, sizeof(msg), sig)) {
			print_error("ACCEPTED: %s\n", invalid[i].why);
			accepted++;
		}
	}
	assert_int_equal(accepted, 0);
}

/* The invalid table's signer and message do verify: the rejections above are not about the key. */
static void test_invalid_table_baseline(void **state)
{
	static const u8 msg[1] = { 0x72 };
	u8 pk[32], sig[64];

	unhex(pk, sizeof(pk), rfc8032[1].public_key);
	unhex(sig, sizeof(sig), rfc8032[1].signature);
	assert_true(ed25519_verify(pk, msg, sizeof(msg), sig));
}

/*
 * Signing one message with one seed under two different claimed public keys
 * would give S1 - S2 = (k1 - k2) * s and so the secret scalar s; ed25519_sign
 * uses the key derived from the seed, so the claimed one changes nothing.
 */
static void test_sign_ignores_wrong_public_key(void **state)
{
	u8 seed[32], pk[32], wrong[32], sig[64], sig_wrong[64];
	static const u8 msg[3] = { 1, 2, 3 };

	unhex(seed, sizeof(seed), rfc8032[0].seed);
	unhex(pk, sizeof(pk), rfc8032[0].public_key);
	unhex(wrong, sizeof(wrong), rfc8032[1].public_key);
	ed25519_sign(sig, seed, pk, msg, sizeof(msg));
	ed25519_sign(sig_wrong, seed, wrong, msg, sizeof(msg));
	assert_memory_equal(sig, sig_wrong, 64);
	assert_true(ed25519_verify(pk, msg, sizeof(msg), sig_wrong));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc8032_vectors),
		cmocka_unit_test(test_sign_input_vectors),
		cmocka_unit_test(test_invalid_table_baseline),
		cmocka_unit_test(test_invalid_signatures),
		cmocka_unit_test(test_sign_ignores_wrong_public_key),
	};

	return cmocka_run_group_tests_name("ed25519", tests, NULL, NULL);
}
