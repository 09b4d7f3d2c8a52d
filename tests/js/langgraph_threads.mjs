// @langchain/langgraph-sdk's Client against Threadline: what useStream and agent-chat-ui call
// before any run (assistants, threads made, searched, read). Prints what it saw as JSON.
import { Client } from "@langchain/langgraph-sdk";

const client = new Client({ apiUrl: process.env.THREADLINE_URL, apiKey: process.env.API_KEY });

const assistants = await client.assistants.search({ limit: 10 });
const thread = await client.threads.create({ metadata: { from: "js" } });
const found = await client.threads.search({ metadata: { from: "js" }, limit: 10 });
const state = await client.threads.getState(thread.thread_id);
const history = await client.threads.getHistory(thread.thread_id, { limit: 5 });
let missing = null;
try {
  await client.threads.get("00000000-0000-4000-8000-000000000000");
} catch (error) {
  missing = error.status ?? String(error);
}
console.log(
  JSON.stringify({
    graphs: assistants.map((a) => a.graph_id),
    thread_id: thread.thread_id,
    status: thread.status,
    found: found.map((t) => t.thread_id),
    values: state.values,
    history: history.length,
    missing,
  }),
);
