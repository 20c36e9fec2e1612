/* The crypto group (W3C Web Cryptography API): SHA digests and HMAC give the published
 * FIPS 180 / RFC 4231 / RFC 2202 / RFC 7515 results, verify tells right from wrong,
 * getRandomValues and randomUUID behave as the spec says, key bytes stay hidden unless the
 * key is extractable, and every misuse fails with the spec's error name as a rejection. */
#include "support/support.h"

SUITE_POOL(1)
static jsp_context *ctx;

/* Helpers every test's JS uses: hex of a buffer, bytes of an ASCII string or a repeated
 * byte, and how a promise settled ("resolved" or the error's [DOMException] name). */
static const char helpers[] =
    "globalThis.hex = (b) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, '0')).join('');"
    "globalThis.ascii = (s) => Uint8Array.from(s, (c) => c.charCodeAt(0));"
    "globalThis.repeat = (byte, n) => new Uint8Array(n).fill(byte);"
    "globalThis.outcome = (p) => p.then(() => 'resolved',"
    "  (e) => (e instanceof DOMException ? 'DOMException ' : '') + e.name);"
    "globalThis.hmacHex = async (hash, key, data) => hex(await crypto.subtle.sign('HMAC',"
    "  await crypto.subtle.importKey('raw', key, {name: 'HMAC', hash}, false, ['sign']), data));"
    /* RFC 4231 test cases 1, 2, 3, 4, 6 and 7 (5 is the truncated one) */
    "globalThis.rfc4231 = [[repeat(0x0b, 20), ascii('Hi There')],"
    "  [ascii('Jefe'), ascii('what do ya want for nothing?')],"
    "  [repeat(0xaa, 20), repeat(0xdd, 50)],"
    "  [Uint8Array.from({length: 25}, (_, i) => i + 1), repeat(0xcd, 50)],"
    "  [repeat(0xaa, 131), ascii('Test Using Larger Than Block-Size Key - Hash Key First')],"
    "  [repeat(0xaa, 131), ascii('This is a test using a larger than block-size key and a larger than block-size"
    " data. The key needs to be hashed before being used by the HMAC algorithm.')]];"
    "0";

static void setup(void)
{
    suite_pool_setup();
    jsp_context_config cfg = {.apis = "crypto"};
    cr_assert_eq(jsp_context_new(pool, &cfg, &ctx), 0);
    free(eval_ok(ctx, helpers));
}

static void teardown(void)
{
    jsp_context_free(ctx);
    suite_pool_teardown();
}

TestSuite(crypto, .init = setup, .fini = teardown, .timeout = 120);

/* FIPS 180-2 appendix examples ("abc", the 448-bit message) and the empty string. */
Test(crypto, digest_gives_the_fips_180_results_for_every_sha)
{
    const char *source =
        "Promise.all(['SHA-1', 'SHA-256', 'SHA-384', 'SHA-512'].flatMap((h) => ['abc', '',"
        "  'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'].map(async (m) =>"
        "  hex(await crypto.subtle.digest(h, ascii(m))))))";
    expect_eval(ctx, source,
                "[\"a9993e364706816aba3e25717850c26c9cd0d89d\","
                "\"da39a3ee5e6b4b0d3255bfef95601890afd80709\","
                "\"84983e441c3bd26ebaae4aa1f95129e5e54670f1\","
                "\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\","
                "\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\","
                "\"248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1\","
                "\"cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7\","
                "\"38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b\","
                "\"3391fdddfc8dc7393707a65b1b4709397cf8b1d162af05abfe8f450de5f36bc6b0455a8520bc4e6f5fe95b1fe3c8452b\","
                "\"ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd"
                "454d4423643ce80e2a9ac94fa54ca49f\","
                "\"cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f"
                "63b931bd47417a81a538327af927da3e\","
                "\"204a8fc6dda82f0a0ced7beb8e08a41657c16ef468b228a8279be331a703c33596fd15c13b1b07f9aa1d3bea57789ca0"
                "31ad85c7a71dd70354ec631238ca3445\"]");
}

Test(crypto, digest_of_a_million_a_gives_the_published_results)
{
    expect_eval(ctx, "(async () => { const m = repeat(0x61, 1000000); const out = [];"
                "  for (const h of ['SHA-1', 'SHA-256', 'SHA-384', 'SHA-512']) out.push(hex(await crypto.subtle.digest(h, m)));"
                "  return out; })()",
                "[\"34aa973cd4c4daa4f61eeb2bdbad27316534016f\","
                "\"cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0\","
                "\"9d0e1809716474cb086e834e310a4a1ced149e9c00f248527972cec5704c2a5b07b8b3dc38ecc4ebae97ddd87f3d8985\","
                "\"e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973ebde0ff244877ea60a4cb0432ce577c31beb"
                "009c5c2c49aa2e4eadb217ad8cc09b\"]");
}

Test(crypto, digest_takes_any_name_case_an_object_and_any_buffer_source)
{
    /* "abc" seen through an offset view, a DataView, an ArrayBuffer and an Int8Array */
    expect_eval(ctx, "(async () => { const whole = ascii('xxabcyy'); const s = crypto.subtle;"
                "  const results = await Promise.all(["
                "    s.digest('sha-256', new Uint8Array(whole.buffer, 2, 3)),"
                "    s.digest({name: 'Sha-256'}, new DataView(whole.buffer, 2, 3)),"
                "    s.digest('SHA-256', ascii('abc').buffer),"
                "    s.digest({name: 'SHA-256', extra: 1}, new Int8Array(whole.buffer, 2, 3))]);"
                "  const r = results[0];"
                "  return [r instanceof ArrayBuffer, r.byteLength, new Set(results.map(hex)).size, hex(r)]; })()",
                "[true,32,1,\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"]");
}

Test(crypto, digest_rejects_unknown_algorithms_and_bad_data_instead_of_throwing)
{
    expect_eval(ctx, "(async () => { const s = crypto.subtle; const p = s.digest('MD5', new Uint8Array(1));"
                "  return [p instanceof Promise, await outcome(p),"
                "    await outcome(s.digest('SHA-256', 'abc')), await outcome(s.digest('SHA-256')),"
                "    await outcome(s.digest({}, new Uint8Array(1))), await outcome(s.digest('SHA-3', new Uint8Array(1))),"
                "    await outcome(s.digest('\\u017fha-1', new Uint8Array(1))),"
                "    await outcome(s.digest.call({}, 'SHA-1', new Uint8Array(1)))]; })()",
                "[true,\"DOMException NotSupportedError\",\"TypeError\",\"TypeError\",\"TypeError\","
                "\"DOMException NotSupportedError\",\"DOMException NotSupportedError\",\"TypeError\"]");
}

Test(crypto, hmac_sha2_signatures_match_rfc_4231)
{
    expect_eval(ctx, "Promise.all(rfc4231.map(([k, d]) => hmacHex('SHA-256', k, d)))",
                "[\"b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7\","
                "\"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843\","
                "\"773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe\","
                "\"82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b\","
                "\"60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54\","
                "\"9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2\"]");
    expect_eval(ctx, "Promise.all(rfc4231.map(([k, d]) => hmacHex({name: 'sha-384'}, k, d)))",
                "[\"afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6\","
                "\"af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649\","
                "\"88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b2a5ab39dc13814b94e3ab6e101a34f27\","
                "\"3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e6801dd23c4a7d679ccf8a386c674cffb\","
                "\"4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952\","
                "\"6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5a678cc31e799176d3860e6110c46523e\"]");
    expect_eval(ctx, "Promise.all(rfc4231.map(([k, d]) => hmacHex('SHA-512', k, d)))",
                "[\"87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4"
                "be9d914eeb61f1702e696c203a126854\","
                "\"164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fd"
                "caeab1a34d4a6b4b636e070a38bce737\","
                "\"fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39bf3e848279a722c806b485a47e67c807"
                "b946a337bee8942674278859e13292fb\","
                "\"b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3dba91ca5c11aa25eb4d679275cc5788063"
                "a5f19741120c4f2de2adebeb10a298dd\","
                "\"80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e52"
                "95e64f73f63f0aec8b915a985d786598\","
                "\"e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944b6022cac3c4982b10d5eeb55c3e4de15"
                "134676fb6de0446065c97440fa8c6a58\"]");
}

Test(crypto, hmac_sha1_signatures_match_rfc_2202)
{
    expect_eval(ctx, "Promise.all([[repeat(0x0b, 20), ascii('Hi There')],"
                "  [ascii('Jefe'), ascii('what do ya want for nothing?')],"
                "  [repeat(0xaa, 20), repeat(0xdd, 50)],"
                "  [Uint8Array.from({length: 25}, (_, i) => i + 1), repeat(0xcd, 50)],"
                "  [repeat(0x0c, 20), ascii('Test With Truncation')],"
                "  [repeat(0xaa, 80), ascii('Test Using Larger Than Block-Size Key - Hash Key First')],"
                "  [repeat(0xaa, 80), ascii('Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data')]"
                "].map(([k, d]) => hmacHex('SHA-1', k, d)))",
                "[\"b617318655057264e28bc0b6fb378c8ef146be00\",\"effcdf6ae5eb2fa2d27416d5f184df9c259a7c79\","
                "\"125d7342b9ac11cd91a39af48aa17b4f63f175d3\",\"4c9007f4026250c6bc8414f9bf50c86c2d7235da\","
                "\"4c1a03424b55e07fe7f27be1d58bb9324a9a5a04\",\"aa4ae5e15272d00e95705637ce8a3b55ed402112\","
                "\"e8e99d0f45237d786d6bbaa7965c7808bbff1a91\"]");
}

/* RFC 7515 appendix A.1: the HS256 JWS example's key (as a JWK) and its signature
 * dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk, here in hex. */
Test(crypto, hmac_jwk_import_signs_the_rfc_7515_example)
{
    expect_eval(ctx, "(async () => { const s = crypto.subtle;"
                "  const jwk = {kty: 'oct', k: 'AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow'};"
                "  const key = await s.importKey('jwk', jwk, {name: 'HMAC', hash: 'SHA-256'}, true, ['sign', 'verify']);"
                "  const input = ascii('eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4"
                "MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ');"
                "  const mac = await s.sign('HMAC', key, input);"
                "  const back = await s.exportKey('jwk', key);"
                "  return [hex(mac), back.kty, back.k === jwk.k, back.alg, back.key_ops, back.ext, key.algorithm.length]; })()",
                "[\"7418dfb49799e0254ffa607dd8adbbba16d4254d69d6bff05b58055853848d79\",\"oct\",true,\"HS256\",[\"sign\",\"verify\"],true,512]");
}

Test(crypto, verify_accepts_only_the_exact_signature_for_the_exact_data)
{
    expect_eval(ctx, "(async () => { const s = crypto.subtle; const [k, d] = rfc4231[1];"
                "  const key = await s.importKey('raw', k, {name: 'HMAC', hash: 'SHA-256'}, false, ['sign', 'verify']);"
                "  const mac = new Uint8Array(await s.sign('HMAC', key, d));"
                "  const flipped = mac.slice(); flipped[31] ^= 1;"
                "  const longer = new Uint8Array(33); longer.set(mac);"
                "  return Promise.all([s.verify('HMAC', key, mac, d), s.verify({name: 'hmac'}, key, mac.buffer, d),"
                "    s.verify('HMAC', key, flipped, d), s.verify('HMAC', key, mac.slice(0, 16), d),"
                "    s.verify('HMAC', key, longer, d), s.verify('HMAC', key, mac, ascii('what do ya want for nothing!')),"
                "    s.verify('HMAC', key, new Uint8Array(0), d)]); })()",
                "[true,true,false,false,false,false,false]");
}

Test(crypto, keys_hide_their_bytes_unless_extractable)
{
    expect_eval(ctx, "(async () => { const s = crypto.subtle;"
                "  const key = await s.importKey('raw', ascii('Jefe'), {name: 'HMAC', hash: {name: 'sha-384'}}, false, ['verify', 'sign', 'sign']);"
                "  const open = await s.importKey('raw', ascii('Jefe'), {name: 'HMAC', hash: 'SHA-1'}, true, ['sign']);"
                "  return [key instanceof CryptoKey, key.type, key.extractable, key.algorithm, key.usages,"
                "    Object.getOwnPropertyNames(key), JSON.stringify(key), Object.prototype.toString.call(key),"
                "    await outcome(s.exportKey('raw', key)), await outcome(s.exportKey('jwk', key)),"
                "    hex(await s.exportKey('raw', open)), (await s.exportKey('jwk', open)).k,"
                "    await outcome(s.exportKey('spki', open)), await outcome(s.exportKey('pem', open))]; })()",
                "[true,\"secret\",false,{\"name\":\"HMAC\",\"hash\":{\"name\":\"SHA-384\"},\"length\":32},"
                "[\"sign\",\"verify\"],[],\"{}\",\"[object CryptoKey]\","
                "\"DOMException InvalidAccessError\",\"DOMException InvalidAccessError\","
                "\"4a656665\",\"SmVmZQ\",\"DOMException NotSupportedError\",\"TypeError\"]");
}

Test(crypto, keys_are_used_only_as_their_usages_allow)
{
    expect_eval(ctx, "(async () => { const s = crypto.subtle; const alg = {name: 'HMAC', hash: 'SHA-256'};"
                "  const signOnly = await s.importKey('raw', ascii('k'), alg, false, ['sign']);"
                "  const verifyOnly = await s.importKey('raw', ascii('k'), alg, false, ['verify']);"
                "  const mac = await s.sign('HMAC', signOnly, ascii('m'));"
                "  return [await outcome(s.sign('HMAC', verifyOnly, ascii('m'))),"
                "    await outcome(s.verify('HMAC', signOnly, mac, ascii('m'))),"
                "    await s.verify('HMAC', verifyOnly, mac, ascii('m')),"
                "    await outcome(s.sign('HMAC', {}, ascii('m'))),"
                "    await outcome(s.sign('ECDSA', signOnly, ascii('m'))),"
                "    await outcome(s.encrypt({name: 'AES-GCM'}, signOnly, ascii('m')))]; })()",
                "[\"DOMException InvalidAccessError\",\"DOMException InvalidAccessError\",true,\"TypeError\","
                "\"DOMException NotSupportedError\",\"DOMException NotSupportedError\"]");
}

Test(crypto, import_errors_have_the_spec_names)
{
    expect_eval(ctx, "(async () => { const s = crypto.subtle; const alg = {name: 'HMAC', hash: 'SHA-256'}; const k = ascii('key');"
                "  const jwk = (extra) => ({kty: 'oct', k: 'a2V5', ...extra});"
                "  return Promise.all(["
                "    outcome(s.importKey('raw', k, alg, false, [])),"
                "    outcome(s.importKey('raw', k, alg, false, ['encrypt'])),"
                "    outcome(s.importKey('raw', k, alg, false, ['fly'])),"
                "    outcome(s.importKey('raw', k, {name: 'HMAC'}, false, ['sign'])),"
                "    outcome(s.importKey('raw', k, {name: 'HMAC', hash: 'MD5'}, false, ['sign'])),"
                "    outcome(s.importKey('raw', k, {name: 'RSA-PSS', hash: 'SHA-256'}, false, ['sign'])),"
                "    outcome(s.importKey('raw', new Uint8Array(0), alg, false, ['sign'])),"
                "    outcome(s.importKey('raw', k, {...alg, length: 25}, false, ['sign'])),"
                "    outcome(s.importKey('raw', k, {...alg, length: 16}, false, ['sign'])),"
                "    outcome(s.importKey('raw', k, {...alg, length: 17}, false, ['sign'])),"
                "    outcome(s.importKey('spki', k, alg, false, ['sign'])),"
                "    outcome(s.importKey('der', k, alg, false, ['sign'])),"
                "    outcome(s.importKey('raw', {}, alg, false, ['sign'])),"
                "    outcome(s.importKey('jwk', k, alg, false, ['sign'])),"
                "    outcome(s.importKey('jwk', jwk({kty: 'RSA'}), alg, false, ['sign'])),"
                "    outcome(s.importKey('jwk', jwk({alg: 'HS512'}), alg, false, ['sign'])),"
                "    outcome(s.importKey('jwk', jwk({use: 'enc'}), alg, false, ['sign'])),"
                "    outcome(s.importKey('jwk', jwk({key_ops: ['verify']}), alg, false, ['sign'])),"
                "    outcome(s.importKey('jwk', jwk({ext: false}), alg, true, ['sign'])),"
                "    outcome(s.importKey('jwk', jwk({k: 'a2V5!'}), alg, false, ['sign'])),"
                "    outcome(s.importKey('jwk', jwk({alg: 'HS256', use: 'sig', key_ops: ['sign'], ext: true}), alg, true, ['sign'])),"
                "    outcome(s.importKey('raw', k, alg, false))]); })()",
                "[\"DOMException SyntaxError\",\"DOMException SyntaxError\",\"TypeError\",\"TypeError\","
                "\"DOMException NotSupportedError\",\"DOMException NotSupportedError\",\"DOMException DataError\","
                "\"DOMException DataError\",\"DOMException DataError\",\"resolved\",\"DOMException NotSupportedError\","
                "\"TypeError\",\"TypeError\",\"TypeError\",\"DOMException DataError\",\"DOMException DataError\","
                "\"DOMException DataError\",\"DOMException DataError\",\"DOMException DataError\",\"DOMException DataError\","
                "\"resolved\",\"TypeError\"]");
}

Test(crypto, generated_hmac_keys_are_block_sized_random_and_usable)
{
    expect_eval(ctx, "(async () => { const s = crypto.subtle;"
                "  const a = await s.generateKey({name: 'HMAC', hash: 'SHA-256'}, true, ['sign', 'verify']);"
                "  const b = await s.generateKey({name: 'HMAC', hash: 'SHA-256'}, true, ['sign', 'verify']);"
                "  const big = await s.generateKey({name: 'HMAC', hash: 'SHA-512'}, false, ['sign']);"
                "  const odd = await s.generateKey({name: 'HMAC', hash: 'SHA-1', length: 20}, true, ['sign']);"
                "  const mac = await s.sign('HMAC', a, ascii('m'));"
                "  return [a.algorithm.length, big.algorithm.length, odd.algorithm.length,"
                "    (await s.exportKey('raw', a)).byteLength, (await s.exportKey('raw', odd)).byteLength,"
                "    hex(await s.exportKey('raw', a)) !== hex(await s.exportKey('raw', b)),"
                "    await s.verify('HMAC', a, mac, ascii('m')), await s.verify('HMAC', b, mac, ascii('m')),"
                "    await outcome(s.generateKey({name: 'HMAC', hash: 'SHA-256'}, true, [])),"
                "    await outcome(s.generateKey({name: 'HMAC', hash: 'SHA-256'}, true, ['decrypt'])),"
                "    await outcome(s.generateKey({name: 'HMAC', hash: 'SHA-256', length: 0}, true, ['sign'])),"
                "    await outcome(s.generateKey({name: 'AES-GCM', length: 256}, true, ['encrypt']))]; })()",
                "[512,1024,20,64,3,true,true,false,\"DOMException SyntaxError\",\"DOMException SyntaxError\","
                "\"DOMException OperationError\",\"DOMException NotSupportedError\"]");
}

Test(crypto, get_random_values_fills_the_view_in_place_and_returns_it)
{
    /* 8 zero bytes either side of the 16-byte view must stay zero; the view itself being
     * all zero after filling has probability 2^-128. */
    expect_eval(ctx, "(() => { const buffer = new ArrayBuffer(32); const view = new Uint8Array(buffer, 8, 16);"
                "  const same = crypto.getRandomValues(view) === view; const all = new Uint8Array(buffer);"
                "  const kinds = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array,"
                "    Uint32Array, BigInt64Array, BigUint64Array].map((T) => crypto.getRandomValues(new T(8)).some((x) => x != 0));"
                "  return [same, all.slice(0, 8).every((x) => x === 0), all.slice(24).every((x) => x === 0),"
                "    view.some((x) => x !== 0), kinds.every(Boolean),"
                "    crypto.getRandomValues(new Uint8Array(65536)).length, crypto.getRandomValues(new Uint8Array(0)).length]; })()",
                "[true,true,true,true,true,65536,0]");
}

Test(crypto, get_random_values_refuses_wrong_types_and_sizes_with_the_spec_errors)
{
    expect_eval(ctx, "(() => { const name = (f) => { try { f(); return 'no error'; }"
                "  catch (e) { return (e instanceof DOMException ? e.name + ' ' + e.code : e.name); } };"
                "  return [name(() => crypto.getRandomValues(new Float32Array(4))),"
                "    name(() => crypto.getRandomValues(new Float64Array(4))),"
                "    name(() => crypto.getRandomValues(new DataView(new ArrayBuffer(4)))),"
                "    name(() => crypto.getRandomValues(new Uint8Array(65537))),"
                "    name(() => crypto.getRandomValues(new Uint32Array(16385))),"
                "    name(() => crypto.getRandomValues([1, 2, 3])),"
                "    name(() => crypto.getRandomValues(new ArrayBuffer(4))),"
                "    name(() => crypto.getRandomValues()),"
                "    name(() => Crypto.prototype.getRandomValues.call({}, new Uint8Array(4)))]; })()",
                "[\"TypeMismatchError 17\",\"TypeMismatchError 17\",\"TypeMismatchError 17\","
                "\"QuotaExceededError 22\",\"QuotaExceededError 22\",\"TypeError\",\"TypeError\",\"TypeError\","
                "\"TypeError\"]");
}

Test(crypto, random_uuids_are_lowercase_version_4_and_unique)
{
    expect_eval(ctx, "(() => { const seen = new Set(); let wellFormed = 0;"
                "  const shape = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;"
                "  for (let i = 0; i < 10000; i++) { const u = crypto.randomUUID(); seen.add(u); wellFormed += shape.test(u); }"
                "  return [typeof crypto.randomUUID(), seen.size, wellFormed]; })()",
                "[\"string\",10000,10000]");
}

Test(crypto, interfaces_cannot_be_constructed_and_check_their_receiver)
{
    expect_eval(ctx, "(() => { const name = (f) => { try { f(); return 'no error'; } catch (e) { return e.name; } };"
                "  return [name(() => new Crypto()), name(() => new CryptoKey()), name(() => new SubtleCrypto()),"
                "    crypto instanceof Crypto, crypto.subtle instanceof SubtleCrypto, crypto.subtle === crypto.subtle,"
                "    Object.prototype.toString.call(crypto), Object.prototype.toString.call(crypto.subtle),"
                "    name(() => Object.getOwnPropertyDescriptor(Crypto.prototype, 'subtle').get.call({})),"
                "    name(() => Crypto.prototype.randomUUID.call(1))]; })()",
                "[\"TypeError\",\"TypeError\",\"TypeError\",true,true,true,\"[object Crypto]\","
                "\"[object SubtleCrypto]\",\"TypeError\",\"TypeError\"]");
}

Test(crypto, interfaces_have_the_webidl_shape)
{
    expect_eval(ctx, "(() => { const s = SubtleCrypto.prototype;"
                "  return [Object.keys(Crypto.prototype), Object.keys(CryptoKey.prototype),"
                "    ['digest', 'importKey', 'exportKey', 'generateKey', 'sign', 'verify', 'encrypt', 'decrypt',"
                "     'deriveBits', 'deriveKey', 'wrapKey', 'unwrapKey'].map((m) => s.propertyIsEnumerable(m) && s[m].length),"
                "    Crypto.prototype.getRandomValues.length]; })()",
                "[[\"subtle\",\"getRandomValues\",\"randomUUID\"],[\"type\",\"extractable\",\"algorithm\",\"usages\"],"
                "[2,5,2,3,3,4,3,3,2,5,4,7],1]");
    expect_eval(ctx, "Promise.all([outcome(crypto.subtle.digest(Symbol(), new Uint8Array(1))),"
                "  outcome(crypto.subtle.digest({name: Symbol()}, new Uint8Array(1)))])",
                "[\"TypeError\",\"TypeError\"]");
}

Test(crypto, the_group_is_only_there_when_asked_for_and_loads_lazily)
{
    jsp_context_config cfg = {.apis = "encoding"};
    jsp_context *other = NULL;
    cr_assert_eq(jsp_context_new(pool, &cfg, &other), 0);
    char *got = eval_ok(other, "[typeof crypto, typeof CryptoKey]");
    cr_expect_str_eq(got, "[\"undefined\",\"undefined\"]");
    free(got);
    jsp_context_free(other);
    cfg.apis = "crypto";
    cr_assert_eq(jsp_context_new(pool, &cfg, &other), 0);
    got = eval_ok(other, "[typeof Object.getOwnPropertyDescriptor(globalThis, 'crypto').get,"
                         " typeof crypto.subtle.digest, typeof Object.getOwnPropertyDescriptor(globalThis, 'crypto').get,"
                         " typeof DOMException]");
    cr_expect_str_eq(got, "[\"function\",\"function\",\"undefined\",\"function\"]");
    free(got);
    jsp_context_free(other);
}
