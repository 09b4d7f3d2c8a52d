// DefaultChatTransport's sendMessages, its stream read back into the assistant message by
// readUIMessageStream, TIMES times with the same MESSAGES (a client retrying its request).
// Prints the message each request rebuilt.
import { DefaultChatTransport, readUIMessageStream } from "ai";

const transport = new DefaultChatTransport({ api: `${process.env.THREADLINE_URL}/ai-sdk/chat` });
const messages = JSON.parse(process.env.MESSAGES);
const rebuilt = [];
for (let i = 0; i < Number(process.env.TIMES ?? "1"); i += 1) {
  const stream = await transport.sendMessages({
    chatId: process.env.CHAT_ID,
    messages,
    trigger: "submit-message",
    messageId: undefined,
    abortSignal: undefined,
  });
  let last = null;
  for await (const message of readUIMessageStream({ stream, terminateOnError: true })) {
    last = message;
  }
  rebuilt.push(last);
}
console.log(JSON.stringify(rebuilt));
