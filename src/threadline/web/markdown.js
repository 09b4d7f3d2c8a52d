// Markdown to HTML for replies, safe by construction: every character of the text is
// HTML-escaped first, and only then are the few Markdown forms turned into tags this file
// writes itself. So no tag, attribute or script in a reply can reach the page as markup.
// Links keep only http, https and mailto targets.

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

function safeUrl(escapedUrl) {
  // The URL was escaped with the rest; `&amp;` stays as is, which is right in an attribute.
  return /^(https?:\/\/|mailto:)/i.test(escapedUrl) ? escapedUrl : null;
}

function inline(text) {
  // Code spans first, kept out of the other rules by placeholders.
  const codes = [];
  let out = text.replace(/`([^`\n]+)`/g, (_, code) => {
    codes.push(`<code>${code}</code>`);
    return `\u0000${codes.length - 1}\u0000`;
  });
  out = out
    .replace(/\[([^\]\n]+)\]\(([^)\s]+)\)/g, (whole, label, url) => {
      const href = safeUrl(url);
      return href ? `<a href="${href}" target="_blank" rel="noopener noreferrer">${label}</a>` : whole;
    })
    .replace(/\*\*([^*\n]+)\*\*/g, "<strong>$1</strong>")
    .replace(/(^|[^*\w])\*([^*\n]+)\*(?=[^*\w]|$)/g, "$1<em>$2</em>")
    .replace(/(^|[^_\w])_([^_\n]+)_(?=[^_\w]|$)/g, "$1<em>$2</em>");
  return out.replace(/\u0000(\d+)\u0000/g, (_, i) => codes[Number(i)]);
}

function list(lines, ordered) {
  const tag = ordered ? "ol" : "ul";
  const items = lines.map((line) => `<li>${inline(line.replace(/^\s*(?:[-*+]|\d+[.)])\s+/, ""))}</li>`);
  return `<${tag}>${items.join("")}</${tag}>`;
}

function block(lines) {
  const first = lines[0];
  const heading = /^(#{1,6})\s+(.*)$/.exec(first);
  if (heading && lines.length === 1) {
    const level = Math.min(heading[1].length + 2, 6); // inside a reply: h3 and smaller
    return `<h${level}>${inline(heading[2])}</h${level}>`;
  }
  if (lines.every((line) => /^\s*[-*+]\s+/.test(line))) return list(lines, false);
  if (lines.every((line) => /^\s*\d+[.)]\s+/.test(line))) return list(lines, true);
  if (lines.every((line) => line.startsWith("&gt;"))) {
    const quoted = lines.map((line) => line.replace(/^&gt;\s?/, ""));
    return `<blockquote>${inline(quoted.join("<br>"))}</blockquote>`;
  }
  return `<p>${inline(lines.join("\n")).replace(/\n/g, "<br>")}</p>`;
}

export function renderMarkdown(text) {
  const escaped = escapeHtml(text);
  const html = [];
  // Fenced code blocks are split off first; an unclosed fence (a reply still streaming)
  // runs to the end.
  const parts = escaped.split(/^```[^\n]*\n?/m);
  parts.forEach((part, index) => {
    if (index % 2 === 1) {
      html.push(`<pre><code>${part.replace(/\n$/, "")}</code></pre>`);
      return;
    }
    let lines = [];
    for (const line of part.split("\n")) {
      if (line.trim() === "") {
        if (lines.length) html.push(block(lines));
        lines = [];
      } else if (/^#{1,6}\s/.test(line)) {
        if (lines.length) html.push(block(lines));
        html.push(block([line]));
        lines = [];
      } else {
        lines.push(line);
      }
    }
    if (lines.length) html.push(block(lines));
  });
  return html.join("");
}
