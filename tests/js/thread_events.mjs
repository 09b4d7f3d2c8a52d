// @langchain/langgraph-sdk's thread event stream (`client.threads.stream`, what
// `@langchain/react` drives) against Threadline: runs started with `run.start`, interrupts
// answered with `input.respond`, the events of each seen through a subscription, over
// SSE or the WebSocket (TRANSPORT). Prints what it saw after each step as JSON.
import { Client } from "@langchain/langgraph-sdk";
import { WebSocket } from "undici"; // node 20 has no global WebSocket

const env = process.env;
const headers = JSON.parse(env.HEADERS || "{}");
const steps = JSON.parse(env.STEPS);
const transport = env.TRANSPORT || "sse";
const client = new Client({ apiUrl: env.THREADLINE_URL, defaultHeaders: headers });
const thread = client.threads.stream(env.THREAD_ID, {
  assistantId: "agent",
  transport,
  maxReconnectAttempts: 0,
  // A browser's socket sends no headers: the credential goes as a ticket.
  webSocketFactory: (url) => new WebSocket(env.TICKET ? `${url}?ticket=${env.TICKET}` : url),
});

async function run(step) {
  if (step.do === "run") {
    const message = { type: "human", content: step.text, ...(step.id ? { id: step.id } : {}) };
    return await thread.run.start({ input: { messages: [message] } });
  }
  const answer = { namespace: [], interrupt_id: step.interrupt_id, response: step.response };
  return await thread.input.respond(answer);
}

// Subscribed once, before the first run, as a front end does when it mounts.
const subscription = await thread.subscribe(["messages", "lifecycle", "input", "tools"]);
const seen = [];
for (const step of steps) {
  let result = null;
  let error = null;
  const events = [];
  try {
    result = (await run(step)) ?? null;
    for await (const event of subscription) events.push(event); // until the run ends
  } catch (caught) {
    error = { message: String(caught.message), code: caught.code ?? null, status: caught.status ?? null };
  }
  seen.push({ result, error, events, interrupts: thread.interrupts.map((i) => i.interruptId) });
}
await subscription.unsubscribe();
await thread.close();
console.log(JSON.stringify(seen));
