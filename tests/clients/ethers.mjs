// ethers v6 against the module: network detection (eth_chainId), then
// eth_getBalance of the accounts in t/fixture.sql, batched and unbatched.
// Run by tests/clients/ethers.sh (copied next to build/clients/node_modules).
// Prints one line per check; exits non-zero on any mismatch.
import { ethers } from "ethers";

const url = process.env.BALANCE_URL || "http://127.0.0.1:18546/api";
const CHAIN_ID = 61999n;
const TIMEOUT_MS = 30000;

// the fixture (t/fixture.sql, table current_state), plus one missing account
const ACCOUNTS = [
    ["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", 0n],
    ["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359", 1n],
    ["0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", 9007199254740993n],
    ["0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb", 10n ** 24n],
    ["0x52908400098527886E0F7030069857D2E4169EE7", 2n ** 256n - 1n],
    ["0x8617E340B3D01FA5F11F306F4090FD50E238070D", 255n],
    ["0xde709f2102306220921060314715629080e2fb77", 4096n],
    ["0x27b1fdb04752bbc536007a920d24acb045561c26", 10n ** 18n],
    ["0x0000000000000000000000000000000000000001", 0n],
];
const LOWER = ["0xdbf03b407c01e7cd3cbea99509d93f8dddc8c6fb", 9007199254740993n];

let failures = 0;

function check(name, ok, detail) {
    console.log(`${ok ? "ok    " : "FAIL  "} ${name}${detail ? ": " + detail : ""}`);
    if (!ok) failures++;
}

// ethers retries network detection forever when the node does not answer
function timed(promise, what) {
    let timer;
    return Promise.race([
        promise,
        new Promise((_, reject) => {
            timer = setTimeout(
                () => reject(new Error(`${what}: no answer in ${TIMEOUT_MS} ms`)),
                TIMEOUT_MS);
        }),
    ]).finally(() => clearTimeout(timer));
}

async function run(label, options) {
    const provider = new ethers.JsonRpcProvider(url, undefined, options);

    // what went over the wire: one entry per HTTP request
    const sent = [];
    provider.on("debug", (ev) => {
        if (ev.action === "sendRpcPayload") sent.push(ev.payload);
    });

    try {
        const network = await timed(provider.getNetwork(), `${label} getNetwork`);
        check(`${label}: getNetwork().chainId`, network.chainId === CHAIN_ID,
              `${network.chainId}`);

        sent.length = 0;
        const balances = await timed(
            Promise.all(ACCOUNTS.map(([addr]) => provider.getBalance(addr))),
            `${label} getBalance x${ACCOUNTS.length}`);
        ACCOUNTS.forEach(([addr, want], i) => {
            const got = balances[i];
            check(`${label}: getBalance(${addr})`, got === want,
                  got === want ? `${got}` : `got ${got}, want ${want}`);
        });

        // each eth_getBalance carries the block tag "latest"
        const calls = sent.flat().filter((p) => p.method === "eth_getBalance");
        check(`${label}: ${calls.length} eth_getBalance calls with "latest"`,
              calls.length === ACCOUNTS.length &&
              calls.every((p) => p.params.length === 2 && p.params[1] === "latest"),
              JSON.stringify(calls.map((p) => p.params[1])));

        const batches = sent.filter(Array.isArray);
        const biggest = Math.max(0, ...batches.map((b) =>
            b.filter((p) => p.method === "eth_getBalance").length));
        if (options && options.batchMaxCount === 1) {
            check(`${label}: no JSON-RPC batches sent`, batches.length === 0,
                  `${sent.length} single requests`);
        } else {
            check(`${label}: eth_getBalance sent as a JSON-RPC batch`,
                  biggest > 1,
                  `${sent.length} HTTP requests, largest batch has ` +
                  `${biggest} eth_getBalance`);
        }

        // ethers checksums the address itself ...
        const got = await timed(provider.getBalance(LOWER[0]),
                                `${label} getBalance lowercase`);
        check(`${label}: getBalance(${LOWER[0]})`, got === LOWER[1],
              got === LOWER[1] ? `${got}` : `got ${got}, want ${LOWER[1]}`);

        // ... so send the lowercase address as is, too
        const raw = await timed(
            provider.send("eth_getBalance", [LOWER[0], "latest"]),
            `${label} send eth_getBalance lowercase`);
        const rawOk = typeof raw === "string" && /^0x(0|[1-9a-f][0-9a-f]*)$/.test(raw) &&
                      BigInt(raw) === LOWER[1];
        check(`${label}: send("eth_getBalance", [${LOWER[0]}, "latest"])`,
              rawOk, JSON.stringify(raw));
    } catch (err) {
        check(`${label}: no errors`, false, err && err.stack || String(err));
    } finally {
        provider.destroy();
    }
}

await run("batched", undefined);
await run("unbatched", { batchMaxCount: 1 });

if (failures) {
    console.log(`ethers ${ethers.version}: ${failures} check(s) FAILED`);
    process.exit(1);
}
console.log(`ethers ${ethers.version}: all checks passed`);
