// A Markdown preview for the compose form. It builds DOM nodes directly
// (createElement and text nodes), never an HTML string, so nothing typed
// into the body can become markup or script: raw HTML shows as the text it
// is. It covers what people write in messages (paragraphs, headings, lists,
// quotes, code, emphasis, links); the server's rendering after sending is
// the reference.
import { h, safeURL } from './dom.js';

// renderMarkdown returns a DocumentFragment previewing source.
export function renderMarkdown(source) {
  const out = document.createDocumentFragment();
  const lines = source.replace(/\r\n?/g, '\n').split('\n');
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (line.trim() === '') {
      i++;
    } else if (line.startsWith('```')) {
      const code = [];
      for (i++; i < lines.length && !lines[i].startsWith('```'); i++) code.push(lines[i]);
      i++;
      out.append(h('pre', null, h('code', null, code.join('\n'))));
    } else if (/^#{1,6}\s/.test(line)) {
      const level = line.match(/^#+/)[0].length;
      out.append(h(`h${Math.min(level + 2, 6)}`, null, inline(line.replace(/^#+\s+/, ''))));
      i++;
    } else if (/^\s*([-*+]|\d+[.)])\s/.test(line)) {
      const ordered = /^\s*\d/.test(line);
      const list = h(ordered ? 'ol' : 'ul');
      for (; i < lines.length && /^\s*([-*+]|\d+[.)])\s/.test(lines[i]); i++) {
        list.append(h('li', null, inline(lines[i].replace(/^\s*([-*+]|\d+[.)])\s+/, ''))));
      }
      out.append(list);
    } else if (line.startsWith('>')) {
      const quote = [];
      for (; i < lines.length && lines[i].startsWith('>'); i++) quote.push(lines[i].replace(/^>\s?/, ''));
      out.append(h('blockquote', null, renderMarkdown(quote.join('\n'))));
    } else {
      const para = [];
      for (; i < lines.length && lines[i].trim() !== '' && !isBlockStart(lines[i]); i++) para.push(lines[i]);
      const p = h('p');
      para.forEach((text, n) => {
        if (n > 0) p.append(h('br'));
        p.append(inline(text));
      });
      out.append(p);
    }
  }
  return out;
}

function isBlockStart(line) {
  return line.startsWith('```') || /^#{1,6}\s/.test(line) || /^\s*([-*+]|\d+[.)])\s/.test(line) || line.startsWith('>');
}

// INLINE finds the next inline construct: `code`, **strong**, *em* or _em_,
// [text](url).
const INLINE = /`([^`]+)`|\*\*(.+?)\*\*|__(.+?)__|\*(.+?)\*|_(.+?)_|\[([^\]]+)\]\(([^)\s]+)\)/;

function inline(text) {
  const frag = document.createDocumentFragment();
  let rest = text;
  while (rest) {
    const m = INLINE.exec(rest);
    if (!m) {
      frag.append(rest);
      break;
    }
    frag.append(rest.slice(0, m.index));
    if (m[1] !== undefined) frag.append(h('code', null, m[1]));
    else if (m[2] !== undefined || m[3] !== undefined) frag.append(h('strong', null, inline(m[2] ?? m[3])));
    else if (m[4] !== undefined || m[5] !== undefined) frag.append(h('em', null, inline(m[4] ?? m[5])));
    else {
      const href = safeURL(m[7]);
      frag.append(href ? h('a', { href, rel: 'nofollow noreferrer', target: '_blank' }, m[6]) : m[0]);
    }
    rest = rest.slice(m.index + m[0].length);
  }
  return frag;
}
