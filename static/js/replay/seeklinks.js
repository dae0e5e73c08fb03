// Turns every mm:ss (or h:mm:ss, either with tenths: mm:ss.s) time written inside elements with
// class "seekable" into a link that seeks the video. Works on text nodes only, so user text is never
// parsed as HTML.
const TIME = /\b(?:(\d{1,2}):)?(\d{1,3}):([0-5]\d)(?:\.(\d))?(?![\d.]*\d)/g;

export function parseClock(h, m, s, tenths) {
  return (Number(h || 0) * 3600) + Number(m) * 60 + Number(s) + Number(tenths || 0) / 10;
}

function linkify(textNode, seek) {
  const text = textNode.nodeValue;
  TIME.lastIndex = 0;
  if (!TIME.test(text)) return;
  TIME.lastIndex = 0;
  const frag = document.createDocumentFragment();
  let last = 0;
  for (const match of text.matchAll(TIME)) {
    if (match.index > last) frag.append(document.createTextNode(text.slice(last, match.index)));
    const a = document.createElement("a");
    a.href = "#";
    a.className = "seek-link";
    a.textContent = match[0];
    a.dataset.seek = String(parseClock(match[1], match[2], match[3], match[4]));
    a.addEventListener("click", (ev) => {
      ev.preventDefault();
      seek(Number(a.dataset.seek));
    });
    frag.append(a);
    last = match.index + match[0].length;
  }
  if (last < text.length) frag.append(document.createTextNode(text.slice(last)));
  textNode.replaceWith(frag);
}

// Linkify the times under ``root`` (itself or descendants with class "seekable").
export function seekLinks(root, seek) {
  const targets = root.matches?.(".seekable") ? [root] : [...root.querySelectorAll(".seekable")];
  for (const el of targets) {
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT, {
      acceptNode: (n) => (n.parentElement.closest("a, button, input, textarea") ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT),
    });
    const nodes = [];
    while (walker.nextNode()) nodes.push(walker.currentNode);
    nodes.forEach((n) => linkify(n, seek));
  }
}
