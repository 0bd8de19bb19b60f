import { HEALTHS } from '../context';
import { h } from '../dom';

export type HealthCounts = Record<(typeof HEALTHS)[number], number>;

/** A horizontal bar of instances by health, with a text equivalent for screen readers. */
export function healthBar(counts: HealthCounts): HTMLElement {
  const total = HEALTHS.reduce((sum, health) => sum + counts[health], 0);
  const label = total === 0 ? 'no active instances' : HEALTHS.filter((x) => counts[x] > 0).map((x) => `${counts[x]} ${x}`).join(', ');
  const bar = h('div', { class: 'health-bar', role: 'img', 'aria-label': label, title: label });
  for (const health of HEALTHS) {
    if (counts[health] === 0) continue;
    const segment = h('span', { class: `seg ${health}` });
    // CSSOM, not a style attribute: the page's CSP allows no inline styles
    segment.style.width = `${(100 * counts[health]) / total}%`;
    bar.append(segment);
  }
  return bar;
}
