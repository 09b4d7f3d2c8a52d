// The `ai` package's chat (AbstractChat, as useChat drives it, with DefaultChatTransport)
// against Threadline's /ai-sdk/chat. STEPS (JSON) says what the user does, in order:
//   {"do": "send", "text": "...", "id"?: "...", "dropAfter"?: n}  (stop() after n text deltas)
//   {"do": "approve", "approved": true}   (addToolApprovalResponse, then sendMessage())
//   {"do": "regenerate"}, {"do": "resume"}, {"do": "stopEndpoint"}
// Prints, per step, the chat's messages, status and error, and the chunks it received.
import { AbstractChat, DefaultChatTransport } from "ai";

class State {
  constructor(messages) {
    this.status = "ready";
    this.error = undefined;
    this.messages = messages;
  }
  pushMessage(message) {
    this.messages = [...this.messages, message];
  }
  popMessage() {
    this.messages = this.messages.slice(0, -1);
  }
  replaceMessage(index, message) {
    this.messages = this.messages.map((m, i) => (i === index ? message : m));
  }
  snapshot(thing) {
    return structuredClone(thing);
  }
}

const url = process.env.THREADLINE_URL;
const headers = JSON.parse(process.env.HEADERS ?? "{}");
let chunks = [];
let onDelta = () => {};

class RecordingTransport extends DefaultChatTransport {
  processResponseStream(stream) {
    return super.processResponseStream(stream).pipeThrough(
      new TransformStream({
        transform(chunk, controller) {
          chunks.push(chunk);
          if (chunk.type === "text-delta") onDelta();
          controller.enqueue(chunk);
        },
      }),
    );
  }
}

const chat = new (class extends AbstractChat {})({
  id: process.env.CHAT_ID,
  transport: new RecordingTransport({ api: `${url}/ai-sdk/chat`, headers }),
  state: new State(JSON.parse(process.env.MESSAGES ?? "[]")),
});

async function run(step) {
  if (step.do === "send") {
    let deltas = 0;
    onDelta = () => {
      deltas += 1;
      if (step.dropAfter && deltas === step.dropAfter) setTimeout(() => chat.stop(), 0);
    };
    const parts = [{ type: "text", text: step.text }];
    await chat.sendMessage(step.id ? { id: step.id, role: "user", parts } : { text: step.text });
  } else if (step.do === "approve") {
    const waiting = chat.lastMessage.parts.find((p) => p.state === "approval-requested");
    await chat.addToolApprovalResponse({ id: waiting.approval.id, approved: step.approved });
    await chat.sendMessage();
  } else if (step.do === "regenerate") {
    await chat.regenerate();
  } else if (step.do === "resume") {
    await chat.resumeStream();
  } else if (step.do === "stopEndpoint") {
    const response = await fetch(`${url}/ai-sdk/chat/${chat.id}/stop`, { method: "POST", headers });
    return { status: response.status, body: await response.json() };
  }
  return null;
}

const seen = [];
for (const step of JSON.parse(process.env.STEPS)) {
  chunks = [];
  const answer = await run(step);
  seen.push({
    step: step.do,
    answer,
    status: chat.status,
    error: chat.error ? chat.error.message : null,
    messages: structuredClone(chat.messages),
    chunks,
  });
}
console.log(JSON.stringify(seen));
