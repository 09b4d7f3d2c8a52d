// @langchain/langgraph-sdk's Client against Threadline, making exactly the calls useStream
// (react/stream.lgp.js, as agent-chat-ui drives it) makes. STEPS (JSON) says what the user does:
//   {"do": "send", "text": "..."}              submit({messages: [message]}), from the head
//                                              (with "plain": true, no checkpoint; with
//                                              "shown": true, the head the page last read:
//                                              agent-chat-ui's useStream (1.8) reads no
//                                              history after a stop)
//   {"do": "drop", "text": "...", "after": n}  the same, the stream dropped after n tokens, then
//                                              joinStream(run id, Last-Event-ID) as on reload
//   {"do": "stop", "text": "..."}              the same, stopped after the first token (runs.cancel)
//   {"do": "resume", "answer": {...}}          submit(undefined, {command: {resume: answer}})
//   {"do": "edit", "index": i, "text": "..."}  an edit of message i of the head's values
//   {"do": "regenerate", "index": i}           a regenerate of (AI) message i
// An edit and a regenerate submit from the parent checkpoint of the first history state that
// holds the message (useStream's messageMetadata firstSeenState.parent_checkpoint).
// Prints, per step, the events seen (name, id), the text put together from messages-tuple
// events, the last values event's messages, and the thread's state afterwards.
import { Client } from "@langchain/langgraph-sdk";

const client = new Client({ apiUrl: process.env.THREADLINE_URL });
const threadId = process.env.THREAD_ID;
const ASSISTANT = "threadline";
const streamMode = ["values", "messages-tuple", "custom"];

function human(text) {
  return { id: crypto.randomUUID(), type: "human", content: [{ type: "text", text }] };
}

async function history() {
  return client.threads.getHistory(threadId, { limit: 10 });
}

// useStream's firstSeenState: the oldest state (of history, newest first) holding the message.
async function parentOf(index) {
  const states = await history();
  const id = states[0].values.messages.at(index).id; // from the end when negative
  const holding = states.filter((s) => (s.values?.messages ?? []).some((m) => m.id === id));
  const parent = holding.at(-1).parent_checkpoint;
  if (parent == null) return undefined; // none: useStream submits without a checkpoint
  const { thread_id: _, ...checkpoint } = parent; // as submit drops it
  return checkpoint;
}

async function head() {
  const checkpoint = (await history())[0]?.checkpoint;
  if (checkpoint) delete checkpoint.thread_id;
  return checkpoint;
}

function submit(input, options = {}) {
  const controller = new AbortController();
  let runId = null;
  const parts = client.runs.stream(threadId, ASSISTANT, {
    input,
    command: options.command,
    checkpoint: options.checkpoint,
    streamMode,
    streamSubgraphs: true,
    streamResumable: true,
    onDisconnect: "continue",
    signal: controller.signal,
    onRunCreated: (params) => void (runId = params.run_id),
  });
  return { parts: parts[Symbol.asyncIterator](), controller, runId: () => runId };
}

// What useStream keeps of a stream: event names and ids, the text of messages-tuple tokens
// (by message id, as its MessageTupleManager concatenates them), the last values.
async function read(parts, seen, { until } = {}) {
  const iterator = parts[Symbol.asyncIterator]?.() ?? parts;
  try {
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      const part = next.value;
      seen.events.push([part.event, part.id ?? null]);
      if (part.event.startsWith("messages")) {
        const [chunk] = part.data;
        seen.tokens.push(chunk.content);
        seen.text[chunk.id] = (seen.text[chunk.id] ?? "") + chunk.content;
      } else if (part.event.startsWith("values")) {
        // An interrupt comes as a values event of its own ({__interrupt__}), as LangGraph's.
        if (part.data.messages) seen.values = part.data.messages.map((m) => [m.type, m.content, m.id]);
        seen.interrupt = part.data.__interrupt__ ?? null;
      }
      if (until?.(seen)) return part.id;
    }
  } catch (error) {
    if (error.name !== "AbortError") throw error;
  }
  return null;
}

let shown; // the head as the page last read it: after every step but a stop

async function run(step) {
  const seen = { step: step.do, events: [], tokens: [], text: {}, values: null, interrupt: null };
  // agent-chat-ui sends the head's checkpoint with each later message; useStream alone
  // sends none while the latest branch is shown (`plain`).
  let checkpoint = step.plain ? undefined : step.shown ? shown : await head();
  let input = step.text === undefined ? undefined : { messages: [human(step.text)] };
  if (step.do === "edit" || step.do === "regenerate") checkpoint = await parentOf(step.index);
  if (step.do === "resume") checkpoint = undefined;
  const run = submit(input, { checkpoint, command: step.answer && { resume: step.answer } });
  if (step.do === "drop" || step.do === "stop") {
    const after = step.after ?? 1;
    const lastId = await read(run.parts, seen, { until: (s) => s.tokens.length >= after });
    seen.runId = run.runId();
    if (step.do === "stop") {
      await client.runs.cancel(threadId, seen.runId); // useStream's stop, then the stream ends
      await read(run.parts, seen);
    } else {
      run.controller.abort(); // the page is closed mid-reply; reloaded, it rejoins
      seen.droppedAt = seen.events.length;
      const joined = client.runs.joinStream(threadId, seen.runId, { lastEventId: lastId, streamMode });
      await read(joined, seen);
    }
  } else {
    await read(run.parts, seen);
    seen.runId = run.runId();
  }
  if (step.do !== "stop") shown = await head();
  const state = await client.threads.getState(threadId);
  seen.state = state.values.messages.map((m) => [m.type, m.content, m.id]);
  seen.sent = { checkpoint: checkpoint ?? null, input: input ?? null };
  return seen;
}

const seen = [];
for (const step of JSON.parse(process.env.STEPS)) seen.push(await run(step));
console.log(JSON.stringify(seen));
