#!/usr/bin/env node
// Drives a running `loralab serve` (or any OpenAI-compatible server) with N concurrent streaming clients spread over
// K models, then sends the same requests one at a time, and reports for each: requests/s, output tokens/s, time to
// first token and per-token latency (a request's time from its first to its last token over the tokens between; pieces
// that arrive in one read would make gaps of 0 between single pieces), p50 and p99 over requests, and the ratio of
// the two output rates. Node 20+, built-in fetch, no dependencies.
//   node tools/serve-bench.mjs --url http://127.0.0.1:PORT --models demo-base,first,second
//        [--concurrency 8] [--requests 48] [--max-tokens 32] [--ignore-eos] [--no-stream] [--api-key KEY] [--json]
import { parseArgs } from "node:util";

const { values: o } = parseArgs({
  options: {
    url: { type: "string" },
    models: { type: "string" },
    concurrency: { type: "string", default: "8" },
    requests: { type: "string", default: "48" },
    "max-tokens": { type: "string", default: "32" },
    "api-key": { type: "string", default: process.env.LORALAB_API_KEY ?? "" },
    json: { type: "boolean", default: false },
    // every reply max_tokens long (vLLM's ignore_eos), as serving benchmarks fix the output length
    "ignore-eos": { type: "boolean", default: false },
    // whole responses instead of streamed events: throughput without the per-token cost of streaming (no latencies)
    "no-stream": { type: "boolean", default: false },
  },
});
if (!o.url || !o.models) {
  console.error("usage: node tools/serve-bench.mjs --url http://HOST:PORT --models A,B[,...] [--concurrency N] [--requests R] [--max-tokens T] [--ignore-eos] [--no-stream] [--api-key KEY] [--json]");
  process.exit(2);
}
const models = o.models.split(",").filter(Boolean);
const [concurrency, total, maxTokens] = [o.concurrency, o.requests, o["max-tokens"]].map(Number);
const headers = { "content-type": "application/json", ...(o["api-key"] ? { authorization: `Bearer ${o["api-key"]}` } : {}) };

// The same R requests in both phases: request i goes to model i mod K, with its own short list of words.
const words = ["bird", "ring", "bag", "forest", "door", "field", "cat", "sister", "pear", "bed", "peach", "sky"];
const requests = Array.from({ length: total }, (_, i) => ({
  model: models[i % models.length],
  messages: [{ role: "user", content: `Give the first word of the list.\n\n${Array.from({ length: 2 + (i % 4) }, (_, k) => words[(i * 5 + k * 7) % words.length]).join(" ")}` }],
  max_tokens: maxTokens,
  temperature: 0,
  ...(o["ignore-eos"] ? { ignore_eos: true } : {}),
  ...(o["no-stream"] ? {} : { stream: true, stream_options: { include_usage: true } }),
}));

/// One streamed chat completion: when its first token and each later one arrived, and how many tokens it produced.
async function one(body) {
  const start = performance.now();
  const res = await fetch(`${o.url}/v1/chat/completions`, { method: "POST", headers, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${body.model}: HTTP ${res.status} ${await res.text()}`);
  if (!body.stream) return { start, arrivals: [], tokens: (await res.json()).usage.completion_tokens };
  const arrivals = [];
  let usage = null, buffer = "";
  const decoder = new TextDecoder();
  for await (const bytes of res.body) {
    buffer += decoder.decode(bytes, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      for (const line of event.split("\n")) {
        if (!line.startsWith("data: ") || line === "data: [DONE]") continue;
        const chunk = JSON.parse(line.slice(6));
        if (chunk.usage) usage = chunk.usage;
        if (chunk.choices?.[0]?.delta?.content) arrivals.push(performance.now());
      }
    }
  }
  // Tokens: the server's count when it sends usage; else one per streamed piece.
  return { start, arrivals, tokens: usage?.completion_tokens ?? arrivals.length };
}

async function phase(clients) {
  const results = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: clients }, async () => {
    while (next < requests.length) results.push(await one(requests[next++]));
  }));
  const seconds = (performance.now() - t0) / 1000;
  const tokens = results.reduce((s, r) => s + r.tokens, 0);
  const ttft = results.filter(r => r.arrivals.length > 0).map(r => r.arrivals[0] - r.start);
  const perToken = results.filter(r => r.tokens > 1 && r.arrivals.length > 1)
    .map(r => (r.arrivals.at(-1) - r.arrivals[0]) / (r.tokens - 1));
  return {
    clients, requests: results.length, seconds, output_tokens: tokens,
    requests_per_s: results.length / seconds, output_tokens_per_s: tokens / seconds,
    ttft_ms: { p50: pct(ttft, 50), p99: pct(ttft, 99) },
    per_token_ms: { p50: pct(perToken, 50), p99: pct(perToken, 99) },
  };
}

function pct(values, p) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

// Warm-up, not counted: one request per model, then both phases once, so the server's JIT has compiled its hot paths
// (.NET recompiles hot methods in the background for a while: counted, that work fell on whichever phase ran first).
for (const model of models) await one({ ...requests[0], model });
await phase(concurrency);
await phase(1);
const together = await phase(concurrency);
const alone = await phase(1);
const ratio = together.output_tokens_per_s / alone.output_tokens_per_s;
if (o.json) console.log(JSON.stringify({ models, max_tokens: maxTokens, ignore_eos: o["ignore-eos"], together, alone, ratio }));
else {
  const f = (x, d = 1) => (x == null ? "-" : x.toFixed(d));
  console.log(`${total} greedy ${o["no-stream"] ? "whole (not streamed)" : "streamed"} chat requests over ${models.join(", ")}, max_tokens ${maxTokens}${o["ignore-eos"] ? " (ignore_eos: every reply that long)" : ""}`);
  console.log("clients | requests/s | output tokens/s | TTFT p50 / p99 ms | per-token p50 / p99 ms | tokens | s");
  for (const r of [together, alone])
    console.log(`${String(r.clients).padStart(7)} | ${f(r.requests_per_s, 2).padStart(10)} | ${f(r.output_tokens_per_s).padStart(15)} | ${f(r.ttft_ms.p50)} / ${f(r.ttft_ms.p99)} | ${f(r.per_token_ms.p50)} / ${f(r.per_token_ms.p99)} | ${r.output_tokens} | ${f(r.seconds, 2)}`);
  console.log(`output tokens/s, ${concurrency} concurrent against one at a time: ${ratio.toFixed(2)}x`);
}
