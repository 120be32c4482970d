// A few DOM helpers for the frame: elements built with text content only (never HTML strings, so a
// payee name or an item description cannot inject markup), one step shown at a time with its heading
// focused, and one live status region read out by screen readers.

type Child = Node | string | null | undefined | false;
type Attributes = Record<string, string | boolean | number | undefined | ((event: Event) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') element.addEventListener(name.replace(/^on/, '').toLowerCase(), value);
    else if (value === true) element.setAttribute(name, '');
    else element.setAttribute(name, String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child);
  }
  return element;
}

const stepElement = (): HTMLElement => document.getElementById('step')!;
const statusElement = (): HTMLElement => document.getElementById('status')!;

let stepCounter = 0;

/** Replaces the current step; its heading receives the focus so keyboard and screen-reader users follow. */
export function showStep(testId: string, heading: string, ...content: Child[]): HTMLElement {
  stepCounter += 1;
  const headingElement = h('h1', { id: `step-heading-${stepCounter}`, tabindex: '-1', 'data-testid': 'step-heading' }, heading);
  const section = h('section', { 'data-testid': testId, 'aria-labelledby': headingElement.id, class: 'step' }, headingElement, ...content);
  stepElement().replaceChildren(section);
  clearStatus();
  headingElement.focus({ preventScroll: true });
  return section;
}

export function setStatus(message: string, tone: 'info' | 'error' | 'success' = 'info'): void {
  const element = statusElement();
  element.textContent = message;
  element.dataset.tone = tone;
  element.hidden = message === '';
}

export function clearStatus(): void {
  setStatus('');
}

/** Disables every button of the current step while `work` runs (no double submission). */
export async function busy<T>(message: string, work: () => Promise<T>): Promise<T> {
  const step = stepElement();
  const controls = [...step.querySelectorAll<HTMLButtonElement | HTMLInputElement>('button, input')];
  const wasDisabled = controls.map((control) => control.disabled);
  for (const control of controls) control.disabled = true;
  step.setAttribute('aria-busy', 'true');
  setStatus(message);
  try {
    return await work();
  } finally {
    controls.forEach((control, index) => (control.disabled = wasDisabled[index] ?? false));
    step.removeAttribute('aria-busy');
  }
}

export function button(label: string, testId: string, onClick: () => void, variant: 'primary' | 'secondary' | 'link' = 'primary'): HTMLButtonElement {
  return h('button', { type: 'button', class: `button ${variant}`, 'data-testid': testId, onclick: () => onClick() }, label);
}

let fieldCounter = 0;

/** A labelled input; the label is a real <label for>. */
export function field(label: string, testId: string, attributes: Attributes = {}, hint?: string): { wrapper: HTMLElement; input: HTMLInputElement } {
  fieldCounter += 1;
  const id = `field-${fieldCounter}`;
  const hintId = hint ? `${id}-hint` : undefined;
  const input = h('input', { id, name: testId, 'data-testid': testId, 'aria-describedby': hintId, ...attributes });
  const wrapper = h('div', { class: 'field' }, h('label', { for: id }, label), input, hint ? h('p', { id: hintId, class: 'hint' }, hint) : null);
  return { wrapper, input };
}

/** A labelled checkbox (the whole label is the click target); `onChange` gets the new state. */
export function checkbox(label: string, testId: string, onChange: (checked: boolean) => void): { wrapper: HTMLElement; input: HTMLInputElement } {
  fieldCounter += 1;
  const id = `field-${fieldCounter}`;
  const input = h('input', { id, type: 'checkbox', name: testId, 'data-testid': testId });
  input.addEventListener('change', () => onChange(input.checked));
  const wrapper = h('div', { class: 'field checkbox' }, input, h('label', { for: id }, label));
  return { wrapper, input };
}
