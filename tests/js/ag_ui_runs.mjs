// @ag-ui/client's HttpAgent against Threadline's /ag-ui: the runs AGUI_STEPS lists, one after
// another on one agent (one thread), as a front end makes them. Each step may add messages,
// replace the list, answer interrupts (`resume`) or declare front-end tools. Prints, per
// run, the events the client applied (after its own checks of their order), the error it
// raised if any, and the agent's messages and pending interrupts afterwards. `answer` answers
// every interrupt the previous run ended with the same way; `toolResult` answers each call it
// left for the front end's tools.
import { HttpAgent } from "@ag-ui/client";

const agent = new HttpAgent({
  url: process.env.AGUI_URL,
  headers: JSON.parse(process.env.AGUI_HEADERS ?? "{}"),
  threadId: process.env.AGUI_THREAD || undefined,
});
const runs = [];
let finished = null; // the last run's RUN_FINISHED
for (const step of JSON.parse(process.env.AGUI_STEPS)) {
  if (step.setMessages) agent.setMessages(step.setMessages);
  for (const message of step.add ?? []) agent.addMessage(message);
  // `toolResult`: the front end's answer to each call the last run left for its tools.
  for (const toolCallId of step.toolResult ? finished.outcome.pendingToolCallIds : []) {
    const id = crypto.randomUUID();
    agent.addMessage({ id, role: "tool", toolCallId, content: step.toolResult });
  }
  // `answer`: the same answer to every interrupt the last run ended with.
  const resume = step.answer
    ? agent.pendingInterrupts.map((waiting) => ({ interruptId: waiting.id, ...step.answer }))
    : step.resume;
  const events = [];
  let error = null;
  try {
    await agent.runAgent(
      { runId: step.runId, tools: step.tools, resume },
      {
        onEvent: ({ event }) => void events.push(event),
        onRunFinishedEvent: ({ event }) => void (finished = event),
      },
    );
  } catch (caught) {
    error = { message: String(caught?.message ?? caught), status: caught?.status ?? null };
    error.payload = caught?.payload ?? null;
  }
  runs.push({
    events,
    error,
    messages: structuredClone(agent.messages),
    pendingInterrupts: structuredClone(agent.pendingInterrupts),
  });
}
console.log(JSON.stringify({ threadId: agent.threadId, runs }));
