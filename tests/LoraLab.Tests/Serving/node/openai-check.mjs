// Drives a running `loralab serve` with the official `openai` client: lists the models, then for each model named
// chats without and with streaming and completes a raw prompt without and with streaming, all greedy, and checks
// that each streamed text equals the text returned whole. Prints one JSON summary on stdout; exits 1 on a failed check.
//   node openai-check.mjs BASE_URL API_KEY MODEL [MODEL...]      (BASE_URL as printed: http://127.0.0.1:PORT)
import OpenAI from "openai";

const [baseUrl, apiKey, ...models] = process.argv.slice(2);
if (!baseUrl || !apiKey || models.length === 0) {
  console.error("usage: node openai-check.mjs BASE_URL API_KEY MODEL [MODEL...]");
  process.exit(2);
}
const client = new OpenAI({ baseURL: `${baseUrl}/v1`, apiKey, maxRetries: 0, timeout: 120_000 });
const failures = [];
const check = (ok, what) => { if (!ok) failures.push(what); };

const messages = [{ role: "user", content: "Give the first word of the list.\n\nbird ring bag forest" }];
const prompt = "Repeat the word twice.\n\norange";
const sampling = { temperature: 0, max_tokens: 16 };

const listed = [];
for await (const m of client.models.list()) listed.push({ id: m.id, object: m.object, owned_by: m.owned_by });
for (const name of models) check(listed.some(m => m.id === name), `model '${name}' is not in /v1/models`);

const summary = { models: listed, chat: {}, completion: {} };
for (const model of models) {
  const whole = await client.chat.completions.create({ model, messages, ...sampling });
  const choice = whole.choices[0];
  check(whole.object === "chat.completion", `${model} chat: object '${whole.object}'`);
  check(whole.model === model, `${model} chat: answered as '${whole.model}'`);
  check(choice.message.role === "assistant", `${model} chat: role '${choice.message.role}'`);
  let streamed = "", chunks = 0, streamFinish = null;
  const stream = await client.chat.completions.create({ model, messages, ...sampling, stream: true });
  for await (const chunk of stream) {
    check(chunk.object === "chat.completion.chunk", `${model} chat stream: object '${chunk.object}'`);
    chunks++;
    streamed += chunk.choices[0]?.delta?.content ?? "";
    streamFinish = chunk.choices[0]?.finish_reason ?? streamFinish;
  }
  check(streamed === choice.message.content, `${model} chat: streamed ${JSON.stringify(streamed)} != whole ${JSON.stringify(choice.message.content)}`);
  check(streamFinish === choice.finish_reason, `${model} chat: streamed finish_reason ${streamFinish} != ${choice.finish_reason}`);
  summary.chat[model] = { text: choice.message.content, streamed, chunks, finish_reason: choice.finish_reason, stream_finish_reason: streamFinish, usage: whole.usage };

  const done = await client.completions.create({ model, prompt, ...sampling });
  check(done.object === "text_completion", `${model} completion: object '${done.object}'`);
  check(done.model === model, `${model} completion: answered as '${done.model}'`);
  let text = "";
  const parts = await client.completions.create({ model, prompt, ...sampling, stream: true });
  for await (const part of parts) text += part.choices[0]?.text ?? "";
  check(text === done.choices[0].text, `${model} completion: streamed ${JSON.stringify(text)} != whole ${JSON.stringify(done.choices[0].text)}`);
  summary.completion[model] = { text: done.choices[0].text, streamed: text, finish_reason: done.choices[0].finish_reason, usage: done.usage };
}
summary.failures = failures;
console.log(JSON.stringify(summary));
process.exit(failures.length === 0 ? 0 : 1);
