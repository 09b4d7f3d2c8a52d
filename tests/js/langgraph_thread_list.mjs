// agent-chat-ui's thread list with @langchain/langgraph-sdk's Client: threads.search by the
// graph's id (as its ThreadProvider asks), then each thread's state as useStream reads it.
// Prints, per thread listed, its id, metadata and messages (type, content, id, tool calls).
import { Client } from "@langchain/langgraph-sdk";

const client = new Client({ apiUrl: process.env.THREADLINE_URL });
const threads = await client.threads.search({ metadata: { graph_id: "threadline" }, limit: 100 });
const listed = [];
for (const thread of threads) {
  const state = await client.threads.getState(thread.thread_id);
  listed.push({
    thread_id: thread.thread_id,
    metadata: thread.metadata,
    messages: state.values.messages.map((m) => ({
      type: m.type,
      content: m.content,
      id: m.id,
      tool_calls: m.tool_calls ?? null,
      tool_call_id: m.tool_call_id ?? null,
    })),
  });
}
console.log(JSON.stringify(listed));
