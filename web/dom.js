// DOM building without HTML parsing: every text, including every value that
// came from a CSV, goes in through createTextNode / textContent, never
// innerHTML, so a hostile file can only ever be shown, not run.

/**
 * el('td', { class: 'num', data: { col: 'records' } }, '12') → <td class="num" data-col="records">12</td>
 * props: class, data (dataset), text, attrs (setAttribute), on (listeners), and
 * any other key is set as a property (type, value, checked, disabled, ...).
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue;
    if (key === 'class') node.className = value;
    else if (key === 'data') Object.assign(node.dataset, value);
    else if (key === 'text') node.textContent = value;
    else if (key === 'attrs') for (const [a, v] of Object.entries(value)) node.setAttribute(a, v);
    else if (key === 'on') for (const [type, fn] of Object.entries(value)) node.addEventListener(type, fn);
    else node[key] = value;
  }
  append(node, ...children);
  return node;
}

/** Appends children: nodes as they are, anything else as a text node. */
export function append(node, ...children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Removes every child. */
export function clear(node) {
  node.replaceChildren();
  return node;
}

/** The one element matching a data-testid under root. */
export function byTestId(id, root = document) {
  return root.querySelector(`[data-testid="${id}"]`);
}
