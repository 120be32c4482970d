// The risk rule language, in the spirit of Stripe Radar rules: `block if :buyer_payments_1h: > 30`.
//
// A rule is compiled once when it is saved (lexed, parsed, checked against the SIGNALS catalogue) and
// evaluated for every movement, so the checked tree is turned into a tree of closures: each node reads
// its signal and compares it with a constant without re-inspecting the syntax tree. The language
// reference, with the grammar and the meaning of a missing signal, is docs/risk-rules.md.
import { SIGNALS, type RiskVerdict, type SignalName, type SignalType, type SignalValue } from './model.ts';

export type RuleErrorCode =
  | 'rule_syntax'
  | 'rule_unknown_signal'
  | 'rule_type_mismatch'
  | 'rule_unknown_list'
  | 'rule_too_complex';

export const RULE_ERROR_CODES: readonly RuleErrorCode[] = [
  'rule_syntax',
  'rule_unknown_signal',
  'rule_type_mismatch',
  'rule_unknown_list',
  'rule_too_complex',
];

export interface RuleError {
  code: RuleErrorCode;
  message: string;
  /** Position of the offending text: 0-based offset, 1-based line and column (in UTF-16 code units). */
  offset: number;
  line: number;
  column: number;
}

export type RuleSignals = Readonly<Partial<Record<SignalName, SignalValue>>>;
export type NamedLists = ReadonlyMap<string, ReadonlySet<string>>;

export interface CompiledRule {
  action: RiskVerdict;
  source: string;
  /** The distinct signals the rule reads, in order of first appearance. */
  signals: SignalName[];
  /** The distinct named lists the rule reads, in order of first appearance. */
  lists: string[];
  matches(signals: RuleSignals, lists?: NamedLists): boolean;
}

export interface CompileRuleOptions {
  /** The named lists that exist; when given, a rule naming any other list is refused. */
  knownLists?: ReadonlySet<string>;
}

export type CompileRuleResult = { ok: true; rule: CompiledRule } | { ok: false; errors: RuleError[] };

export const RULE_SOURCE_LENGTH_MAX = 1_000;
export const RULE_NODES_MAX = 100;
export const RULE_DEPTH_MAX = 16;

const ACTIONS: readonly RiskVerdict[] = ['allow', 'challenge', 'review', 'block'];
const KEYWORDS = new Set(['allow', 'challenge', 'review', 'block', 'if', 'and', 'or', 'not', 'in', 'true', 'false']);
const SIGNAL_TYPES: ReadonlyMap<string, SignalType> = new Map(
  Object.entries(SIGNALS).map(([name, definition]) => [name, definition.type as SignalType]),
);
/** Names longer than this get no "did you mean" suggestion, which bounds the edit-distance work. */
const SUGGESTION_NAME_LENGTH_MAX = 64;

// ---------------------------------------------------------------------------------------------------
// Positions and messages
// ---------------------------------------------------------------------------------------------------

function positionOf(source: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, source.length);
  for (let index = 0; index < end; index++) {
    if (source.charCodeAt(index) === 10) {
      line++;
      lineStart = index + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

function describePosition(source: string, offset: number): string {
  const { line, column } = positionOf(source, offset);
  return `line ${line}, column ${column}`;
}

function makeError(source: string, code: RuleErrorCode, offset: number, message: string): RuleError {
  return { code, message, offset, ...positionOf(source, offset) };
}

/** Optimal string alignment distance: Levenshtein plus the transposition of two adjacent characters. */
function editDistance(left: string, right: string): number {
  const rows = left.length + 1;
  const columns = right.length + 1;
  const table: number[] = new Array<number>(rows * columns).fill(0);
  for (let row = 0; row < rows; row++) table[row * columns] = row;
  for (let column = 0; column < columns; column++) table[column] = column;
  for (let row = 1; row < rows; row++) {
    for (let column = 1; column < columns; column++) {
      const cost = left[row - 1] === right[column - 1] ? 0 : 1;
      let best = Math.min(
        table[(row - 1) * columns + column]! + 1,
        table[row * columns + column - 1]! + 1,
        table[(row - 1) * columns + column - 1]! + cost,
      );
      if (row > 1 && column > 1 && left[row - 1] === right[column - 2] && left[row - 2] === right[column - 1]) {
        best = Math.min(best, table[(row - 2) * columns + column - 2]! + 1);
      }
      table[row * columns + column] = best;
    }
  }
  return table[rows * columns - 1]!;
}

/** The closest candidate within a distance that still reads as a typo, or null. */
export function suggestName(name: string, candidates: Iterable<string>): string | null {
  if (name.length > SUGGESTION_NAME_LENGTH_MAX) return null;
  const lowered = name.toLowerCase();
  const distanceMax = Math.max(2, Math.floor(name.length / 3));
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(lowered, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= distanceMax ? best : null;
}

// ---------------------------------------------------------------------------------------------------
// Lexer
// ---------------------------------------------------------------------------------------------------

type Comparator = '=' | '!=' | '<' | '<=' | '>' | '>=';

type Token =
  | { kind: 'word'; text: string; keyword: string | null; offset: number }
  | { kind: 'signal'; name: string; offset: number }
  | { kind: 'list'; name: string; offset: number }
  | { kind: 'number'; text: string; value: number; offset: number }
  | { kind: 'string'; text: string; value: string; offset: number }
  | { kind: 'operator'; operator: Comparator; offset: number }
  | { kind: 'open' | 'close' | 'comma' | 'end'; offset: number }
  | { kind: 'error'; message: string; offset: number };

const NAME_CHARACTER = /[A-Za-z0-9_]/;
const WORD_START = /[A-Za-z_]/;
const DIGIT = /[0-9]/;
const WHITESPACE = /[ \t\r\n]/;

/**
 * Splits the source into tokens. The first malformed piece becomes an `error` token and ends the list,
 * so the parser reports whichever syntax error comes first in the text.
 */
function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let offset = 0;
  // Every iteration consumes at least one character or stops, so the source length bounds the loop.
  while (offset <= source.length) {
    while (offset < source.length && WHITESPACE.test(source[offset]!)) offset++;
    if (offset >= source.length) {
      tokens.push({ kind: 'end', offset: source.length });
      return tokens;
    }
    const token = readToken(source, offset);
    tokens.push(token);
    if (token.kind === 'error') return tokens;
    offset = token.kind === 'end' ? source.length : tokenEnd(source, token);
  }
  return tokens;
}

/** Where a token ends, recomputed from its kind so that tokens stay small. */
function tokenEnd(source: string, token: Token): number {
  switch (token.kind) {
    case 'word':
      return token.offset + token.text.length;
    case 'signal':
      return token.offset + token.name.length + 2;
    case 'list':
      return token.offset + token.name.length + 1;
    case 'number':
    case 'string':
      return token.offset + token.text.length;
    case 'operator':
      return token.offset + token.operator.length;
    default:
      return token.offset + 1;
  }
}

function readToken(source: string, offset: number): Token {
  const character = source[offset]!;
  const next = source[offset + 1];
  const at = describePosition(source, offset);
  if (character === '(') return { kind: 'open', offset };
  if (character === ')') return { kind: 'close', offset };
  if (character === ',') return { kind: 'comma', offset };
  if (character === ':') return readSignal(source, offset);
  if (character === '@') return readListName(source, offset);
  if (character === "'") return readString(source, offset);
  if (DIGIT.test(character) || (character === '-' && next !== undefined && DIGIT.test(next))) {
    return readNumber(source, offset);
  }
  if (WORD_START.test(character)) {
    const text = readName(source, offset);
    const lowered = text.toLowerCase();
    return { kind: 'word', text, keyword: KEYWORDS.has(lowered) ? lowered : null, offset };
  }
  if (character === '=' && next === '=') {
    return { kind: 'error', offset, message: `Found '==' at ${at}; write a single '=' to test equality.` };
  }
  if (character === '!') {
    if (next === '=') return { kind: 'operator', operator: '!=', offset };
    return { kind: 'error', offset, message: `Found '!' at ${at}; write '!=' for "is not equal to" or 'not' to negate a condition.` };
  }
  if (character === '<' || character === '>') {
    if (character === '<' && next === '>') {
      return { kind: 'error', offset, message: `Found '<>' at ${at}; write '!=' for "is not equal to".` };
    }
    const operator: Comparator = character === '<' ? (next === '=' ? '<=' : '<') : next === '=' ? '>=' : '>';
    return { kind: 'operator', operator, offset };
  }
  if (character === '=') return { kind: 'operator', operator: '=', offset };
  if (character === '"') {
    return { kind: 'error', offset, message: `Found a double quote at ${at}; strings are written between single quotes, like 'gift_card'.` };
  }
  return { kind: 'error', offset, message: `Unexpected character '${character}' at ${at}.` };
}

function readName(source: string, offset: number): string {
  let end = offset;
  while (end < source.length && NAME_CHARACTER.test(source[end]!)) end++;
  return source.slice(offset, end);
}

function readSignal(source: string, offset: number): Token {
  const name = readName(source, offset + 1);
  if (name.length === 0 || source[offset + 1 + name.length] !== ':') {
    const at = describePosition(source, offset);
    return {
      kind: 'error',
      offset,
      message: `Malformed signal at ${at}; a signal is a name of letters, digits and underscores between two colons, like :amount:.`,
    };
  }
  return { kind: 'signal', name, offset };
}

function readListName(source: string, offset: number): Token {
  const name = readName(source, offset + 1);
  if (name.length === 0) {
    const at = describePosition(source, offset);
    return { kind: 'error', offset, message: `Malformed list name at ${at}; a named list is written '@' followed by its name, like @blocked_devices.` };
  }
  return { kind: 'list', name, offset };
}

function readString(source: string, offset: number): Token {
  let value = '';
  let index = offset + 1;
  // Bounded by the source length: every iteration consumes at least one character.
  while (index < source.length) {
    const character = source[index]!;
    if (character === "'") {
      return { kind: 'string', text: source.slice(offset, index + 1), value, offset };
    }
    if (character === '\n') break;
    if (character === '\\') {
      const escaped = source[index + 1];
      if (escaped !== "'" && escaped !== '\\') {
        const at = describePosition(source, index);
        return { kind: 'error', offset: index, message: `Unknown escape at ${at}; inside a string only \\' (a quote) and \\\\ (a backslash) are escapes.` };
      }
      value += escaped;
      index += 2;
      continue;
    }
    value += character;
    index++;
  }
  const at = describePosition(source, offset);
  return { kind: 'error', offset, message: `The string starting at ${at} is not closed; end it with a single quote on the same line.` };
}

function readNumber(source: string, offset: number): Token {
  const match = /^-?[0-9]+(?:_[0-9]+)*(?:\.[0-9]+(?:_[0-9]+)*)?/.exec(source.slice(offset));
  const text = match![0];
  const following = source[offset + text.length];
  const at = describePosition(source, offset);
  if (following !== undefined && (NAME_CHARACTER.test(following) || following === '.')) {
    return {
      kind: 'error',
      offset,
      message: `Malformed number at ${at}; write digits with an optional decimal part, and underscores only between digits, like 10_000 or 0.8.`,
    };
  }
  const value = Number(text.replaceAll('_', ''));
  if (Math.abs(value) > Number.MAX_SAFE_INTEGER) {
    return { kind: 'error', offset, message: `The number at ${at} is too large; numbers may be at most ${Number.MAX_SAFE_INTEGER} in size.` };
  }
  return { kind: 'number', text, value, offset };
}

// ---------------------------------------------------------------------------------------------------
// Syntax tree
// ---------------------------------------------------------------------------------------------------

type LiteralValue = number | string | boolean;

interface SignalNode {
  kind: 'signal';
  name: string;
  offset: number;
}

interface LiteralNode {
  kind: 'literal';
  value: LiteralValue;
  text: string;
  offset: number;
}

type Operand = SignalNode | LiteralNode;

type ListNode =
  | { kind: 'literal_list'; items: LiteralNode[]; offset: number }
  | { kind: 'named_list'; name: string; offset: number };

type ConditionNode =
  | { kind: 'or' | 'and'; operands: ConditionNode[]; offset: number }
  | { kind: 'not'; operand: ConditionNode; offset: number }
  | { kind: 'test'; signal: SignalNode; offset: number }
  | { kind: 'compare'; operator: Comparator; left: SignalNode; right: Operand; offset: number }
  | { kind: 'in'; negated: boolean; left: SignalNode; list: ListNode; offset: number };

interface RuleNode {
  action: RiskVerdict;
  condition: ConditionNode;
}

// ---------------------------------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------------------------------

/**
 * Thrown inside the parser to stop at the first syntax error (the language has no error recovery); it
 * never escapes `compileRule`, which returns it as a value.
 */
class RuleParseFailure extends Error {
  constructor(readonly error: RuleError) {
    super(error.message);
  }
}

function describeToken(token: Token): string {
  switch (token.kind) {
    case 'word':
      return `the word '${token.text}'`;
    case 'signal':
      return `the signal :${token.name}:`;
    case 'list':
      return `the list @${token.name}`;
    case 'number':
      return `the number ${token.text}`;
    case 'string':
      return `the string ${token.text}`;
    case 'operator':
      return `'${token.operator}'`;
    case 'open':
      return "'('";
    case 'close':
      return "')'";
    case 'comma':
      return "','";
    case 'end':
      return 'the end of the rule';
    case 'error':
      return 'a malformed piece of text';
  }
}

function createParser(source: string, tokens: Token[]) {
  let position = 0;
  let nodeCount = 0;
  let parenthesisDepth = 0;

  function peek(): Token {
    const token = tokens[Math.min(position, tokens.length - 1)]!;
    if (token.kind === 'error') throw new RuleParseFailure(makeError(source, 'rule_syntax', token.offset, token.message));
    return token;
  }

  function advance(): Token {
    const token = peek();
    if (token.kind !== 'end') position++;
    return token;
  }

  function isKeyword(token: Token, keyword: string): boolean {
    return token.kind === 'word' && token.keyword === keyword;
  }

  function fail(offset: number, message: string, code: RuleErrorCode = 'rule_syntax'): never {
    throw new RuleParseFailure(makeError(source, code, offset, message));
  }

  function expected(expectation: string, token: Token, hint = ''): never {
    const at = describePosition(source, token.offset);
    fail(token.offset, `Expected ${expectation} at ${at}, but found ${describeToken(token)}${hint}.`);
  }

  /** Counts one node of the bound on rule size, refusing the rule as soon as it goes over. */
  function countNode(offset: number): void {
    nodeCount++;
    if (nodeCount > RULE_NODES_MAX) {
      const at = describePosition(source, offset);
      fail(
        offset,
        `The rule has more than ${RULE_NODES_MAX} parts (signals, values, operators) at ${at}; split it into simpler rules.`,
        'rule_too_complex',
      );
    }
  }

  function parseRule(): RuleNode {
    const first = advance();
    const action = first.kind === 'word' ? ACTIONS.find((candidate) => candidate === first.keyword) : undefined;
    if (action === undefined) {
      expected('the action (allow, challenge, review or block) that starts a rule such as "block if :buyer_payments_1h: > 30"', first);
    }
    const ifToken = advance();
    if (!isKeyword(ifToken, 'if')) expected(`'if' after the action ${action}`, ifToken);
    const condition = parseOr();
    const last = peek();
    if (last.kind !== 'end') {
      const hint = last.kind === 'close' ? "; this ')' has no matching '('" : '';
      expected("'and', 'or' or the end of the rule", last, hint);
    }
    return { action, condition };
  }

  function parseOr(): ConditionNode {
    return parseChain('or', parseAnd);
  }

  function parseAnd(): ConditionNode {
    return parseChain('and', parseNot);
  }

  /** Parses `operand { keyword operand }` into one node with all the operands (or the operand alone). */
  function parseChain(keyword: 'and' | 'or', parseOperand: () => ConditionNode): ConditionNode {
    const first = parseOperand();
    const operands = [first];
    // Bounded by the node limit: each keyword is counted as a node.
    while (isKeyword(peek(), keyword)) {
      countNode(advance().offset);
      operands.push(parseOperand());
    }
    return operands.length === 1 ? first : { kind: keyword, operands, offset: first.offset };
  }

  function parseNot(): ConditionNode {
    const token = peek();
    if (isKeyword(token, 'not')) {
      advance();
      countNode(token.offset);
      return { kind: 'not', operand: parseNot(), offset: token.offset };
    }
    return parsePrimary();
  }

  function parsePrimary(): ConditionNode {
    const token = advance();
    if (token.kind === 'open') {
      parenthesisDepth++;
      if (parenthesisDepth > RULE_DEPTH_MAX) {
        const at = describePosition(source, token.offset);
        fail(token.offset, `Parentheses are nested more than ${RULE_DEPTH_MAX} deep at ${at}; simplify the rule.`, 'rule_too_complex');
      }
      const inner = parseOr();
      const close = advance();
      if (close.kind !== 'close') {
        const opened = describePosition(source, token.offset);
        const at = describePosition(source, close.offset);
        fail(close.offset, `Expected ')' at ${at} to close the '(' opened at ${opened}, but found ${describeToken(close)}.`);
      }
      parenthesisDepth--;
      return inner;
    }
    if (token.kind === 'signal') return parsePredicate(token);
    let hint = '';
    if (token.kind === 'word' && token.keyword === null && SIGNAL_TYPES.has(token.text.toLowerCase())) {
      hint = `; signals are written between colons, like :${token.text.toLowerCase()}:`;
    }
    expected("a condition (a :signal:, 'not' or '(')", token, hint);
  }

  function parsePredicate(signalToken: Token & { kind: 'signal' }): ConditionNode {
    countNode(signalToken.offset);
    const left: SignalNode = { kind: 'signal', name: signalToken.name, offset: signalToken.offset };
    const token = peek();
    if (token.kind === 'operator') {
      advance();
      countNode(token.offset);
      return { kind: 'compare', operator: token.operator, left, right: parseOperand(token), offset: token.offset };
    }
    if (isKeyword(token, 'in') || isKeyword(token, 'not')) {
      advance();
      countNode(token.offset);
      const negated = token.kind === 'word' && token.keyword === 'not';
      if (negated) {
        const inToken = advance();
        if (!isKeyword(inToken, 'in')) expected("'in' after 'not' (as in :category: not in ('gift_card'))", inToken);
      }
      return { kind: 'in', negated, left, list: parseList(), offset: token.offset };
    }
    if (token.kind === 'number' || token.kind === 'string' || token.kind === 'signal' || isKeyword(token, 'true') || isKeyword(token, 'false')) {
      expected(`a comparison operator (=, !=, <, <=, >, >=) or 'in' after :${left.name}:`, token);
    }
    return { kind: 'test', signal: left, offset: signalToken.offset };
  }

  function parseOperand(operator: Token & { kind: 'operator' }): Operand {
    const token = peek();
    if (token.kind === 'signal') {
      advance();
      countNode(token.offset);
      return { kind: 'signal', name: token.name, offset: token.offset };
    }
    const literal = tryLiteral();
    if (literal === null) {
      expected(`a value (a number, a 'string', true, false or a :signal:) after '${operator.operator}'`, token);
    }
    return literal;
  }

  function tryLiteral(): LiteralNode | null {
    const token = peek();
    let value: LiteralValue;
    let text: string;
    if (token.kind === 'number' || token.kind === 'string') {
      value = token.value;
      text = token.text;
    } else if (isKeyword(token, 'true') || isKeyword(token, 'false')) {
      value = isKeyword(token, 'true');
      text = String(value);
    } else {
      return null;
    }
    advance();
    countNode(token.offset);
    return { kind: 'literal', value, text, offset: token.offset };
  }

  function parseList(): ListNode {
    const token = advance();
    if (token.kind === 'list') {
      countNode(token.offset);
      return { kind: 'named_list', name: token.name, offset: token.offset };
    }
    if (token.kind !== 'open') {
      expected("a list such as ('gift_card', 'game_credit_code') or a named list such as @blocked_devices after 'in'", token);
    }
    const items: LiteralNode[] = [];
    // Bounded by the node limit: each item is counted as a node.
    for (;;) {
      const item = tryLiteral();
      if (item === null) expected("a value (a number, a 'string', true or false) in the list", peek());
      items.push(item);
      const separator = advance();
      if (separator.kind === 'close') return { kind: 'literal_list', items, offset: token.offset };
      if (separator.kind !== 'comma') expected("',' or ')' in the list", separator);
    }
  }

  return { parseRule };
}

// ---------------------------------------------------------------------------------------------------
// Checks: depth, names and types
// ---------------------------------------------------------------------------------------------------

interface CheckContext {
  source: string;
  knownLists: ReadonlySet<string> | undefined;
  errors: RuleError[];
  signals: Set<SignalName>;
  lists: Set<string>;
}

/** The first node (in source order) deeper than the limit, or null. Parsing bounds the recursion. */
function findTooDeep(node: ConditionNode, depth: number): ConditionNode | null {
  if (depth > RULE_DEPTH_MAX) return node;
  if (node.kind === 'and' || node.kind === 'or') {
    for (const operand of node.operands) {
      const found = findTooDeep(operand, depth + 1);
      if (found !== null) return found;
    }
  }
  if (node.kind === 'not') return findTooDeep(node.operand, depth + 1);
  return null;
}

function typeName(type: SignalType): string {
  return type === 'number' ? 'a number' : type === 'string' ? 'a string' : 'true or false';
}

function literalType(value: LiteralValue): SignalType {
  return typeof value === 'number' ? 'number' : typeof value === 'string' ? 'string' : 'boolean';
}

/** How an operand reads in a message, its type included: ":amount: (a number)", "the string 'x'". */
function describeOperand(operand: Operand, type: SignalType): string {
  if (operand.kind === 'signal') return `:${operand.name}: (${typeName(type)})`;
  if (type === 'string') return `the string ${operand.text}`;
  return type === 'number' ? `the number ${operand.text}` : `the value ${operand.text}`;
}

/** Resolves a signal, recording an unknown name; null when the signal does not exist. */
function checkSignal(context: CheckContext, signal: SignalNode): SignalType | null {
  const type = SIGNAL_TYPES.get(signal.name);
  if (type !== undefined) {
    context.signals.add(signal.name as SignalName);
    return type;
  }
  const suggestion = suggestName(signal.name, SIGNAL_TYPES.keys());
  const at = describePosition(context.source, signal.offset);
  const advice = suggestion === null ? ' Signal names are listed in docs/risk-rules.md.' : `; did you mean :${suggestion}:?`;
  const message = `Unknown signal :${signal.name}: at ${at}${suggestion === null ? '.' : ''}${advice}`;
  context.errors.push(makeError(context.source, 'rule_unknown_signal', signal.offset, message));
  return null;
}

function mismatch(context: CheckContext, offset: number, message: string): void {
  const at = describePosition(context.source, offset);
  context.errors.push(makeError(context.source, 'rule_type_mismatch', offset, message.replace('{at}', at)));
}

function checkCondition(context: CheckContext, node: ConditionNode): void {
  switch (node.kind) {
    case 'and':
    case 'or':
      for (const operand of node.operands) checkCondition(context, operand);
      return;
    case 'not':
      checkCondition(context, node.operand);
      return;
    case 'test': {
      const type = checkSignal(context, node.signal);
      if (type !== null && type !== 'boolean') {
        const name = node.signal.name;
        const example = type === 'number' ? `:${name}: > 0` : `:${name}: = 'value'`;
        mismatch(context, node.offset, `The signal :${name}: at {at} is ${typeName(type)}, not true or false, so it cannot be a condition on its own; compare it, as in ${example}.`);
      }
      return;
    }
    case 'compare':
      checkCompare(context, node);
      return;
    case 'in':
      checkIn(context, node);
      return;
  }
}

function checkCompare(context: CheckContext, node: ConditionNode & { kind: 'compare' }): void {
  const leftType = checkSignal(context, node.left);
  const rightType = node.right.kind === 'signal' ? checkSignal(context, node.right) : literalType(node.right.value);
  if (leftType === null || rightType === null) return;
  const left = `:${node.left.name}:`;
  const ordering = node.operator !== '=' && node.operator !== '!=';
  if (ordering && leftType !== 'number') {
    mismatch(context, node.offset, `The operator '${node.operator}' at {at} orders numbers, but ${left} is ${typeName(leftType)}; use = or != instead.`);
    return;
  }
  if (leftType !== rightType) {
    const right = describeOperand(node.right, rightType);
    mismatch(context, node.right.offset, `Cannot compare ${left} (${typeName(leftType)}) with ${right} at {at}; both sides of '${node.operator}' must have the same type.`);
  }
}

function checkIn(context: CheckContext, node: ConditionNode & { kind: 'in' }): void {
  const signalType = checkSignal(context, node.left);
  const list = node.list;
  if (list.kind === 'named_list') {
    context.lists.add(list.name);
    if (context.knownLists !== undefined && !context.knownLists.has(list.name)) {
      const suggestion = suggestName(list.name, context.knownLists);
      const at = describePosition(context.source, list.offset);
      const advice = suggestion === null ? '.' : `; did you mean @${suggestion}?`;
      context.errors.push(makeError(context.source, 'rule_unknown_list', list.offset, `Unknown list @${list.name} at ${at}${advice}`));
    }
    if (signalType !== null && signalType !== 'string') {
      mismatch(context, list.offset, `The named list @${list.name} at {at} holds strings, but :${node.left.name}: is ${typeName(signalType)}.`);
    }
    return;
  }
  const keyword = node.negated ? 'not in' : 'in';
  if (signalType === 'boolean') {
    mismatch(context, node.offset, `'${keyword}' at {at} needs a number or string signal, but :${node.left.name}: is true or false; use = instead.`);
    return;
  }
  const expectedType = signalType ?? literalType(list.items[0]!.value);
  const wrong = list.items.find((item) => literalType(item.value) !== expectedType);
  if (wrong !== undefined) {
    const owner = signalType === null ? 'the first value of the list' : `:${node.left.name}:`;
    mismatch(context, wrong.offset, `The list value ${wrong.text} at {at} is ${typeName(literalType(wrong.value))}, but ${owner} is ${typeName(expectedType)}; every value of the list must have that type.`);
  }
}

// ---------------------------------------------------------------------------------------------------
// Evaluation: the checked tree becomes closures
// ---------------------------------------------------------------------------------------------------

type Predicate = (signals: RuleSignals, lists: NamedLists | undefined) => boolean;

function compileCondition(node: ConditionNode): Predicate {
  switch (node.kind) {
    case 'or':
      return compileOr(node.operands.map(compileCondition));
    case 'and':
      return compileAnd(node.operands.map(compileCondition));
    case 'not': {
      const operand = compileCondition(node.operand);
      return (signals, lists) => !operand(signals, lists);
    }
    case 'test': {
      const name = node.signal.name as SignalName;
      return (signals) => signals[name] === true;
    }
    case 'compare':
      return node.right.kind === 'signal'
        ? compareSignals(node.operator, node.left.name as SignalName, node.right.name as SignalName)
        : compareLiteral(node.operator, node.left.name as SignalName, node.right.value);
    case 'in':
      return node.list.kind === 'named_list'
        ? inNamedList(node.left.name as SignalName, node.list.name, node.negated)
        : inLiteralList(node.left.name as SignalName, node.list.items, node.negated);
  }
}

function compileOr(operands: Predicate[]): Predicate {
  const [first, second] = operands;
  if (operands.length === 2) return (signals, lists) => first!(signals, lists) || second!(signals, lists);
  return (signals, lists) => {
    for (const operand of operands) if (operand(signals, lists)) return true;
    return false;
  };
}

function compileAnd(operands: Predicate[]): Predicate {
  const [first, second] = operands;
  if (operands.length === 2) return (signals, lists) => first!(signals, lists) && second!(signals, lists);
  return (signals, lists) => {
    for (const operand of operands) if (!operand(signals, lists)) return false;
    return true;
  };
}

/**
 * A comparison with a constant. Every branch checks the type of the value it reads, so a missing
 * (null or absent) signal makes the comparison false, `!=` included.
 */
function compareLiteral(operator: Comparator, name: SignalName, constant: LiteralValue): Predicate {
  if (operator === '=') return (signals) => signals[name] === constant;
  if (typeof constant === 'number') {
    switch (operator) {
      case '!=':
        return (signals) => {
          const value = signals[name];
          return typeof value === 'number' && value !== constant;
        };
      case '<':
        return (signals) => {
          const value = signals[name];
          return typeof value === 'number' && value < constant;
        };
      case '<=':
        return (signals) => {
          const value = signals[name];
          return typeof value === 'number' && value <= constant;
        };
      case '>':
        return (signals) => {
          const value = signals[name];
          return typeof value === 'number' && value > constant;
        };
      case '>=':
        return (signals) => {
          const value = signals[name];
          return typeof value === 'number' && value >= constant;
        };
    }
  }
  if (operator !== '!=') throw new Error(`Bug: the type checker let '${operator}' through on a ${typeof constant}.`);
  if (typeof constant === 'string') {
    return (signals) => {
      const value = signals[name];
      return typeof value === 'string' && value !== constant;
    };
  }
  const opposite = !constant;
  return (signals) => signals[name] === opposite;
}

/** A comparison of two signals of the same type; false when either is missing. */
function compareSignals(operator: Comparator, leftName: SignalName, rightName: SignalName): Predicate {
  const type = SIGNAL_TYPES.get(leftName)!;
  if (operator === '=') {
    return (signals) => {
      const left = signals[leftName];
      return typeof left === type && left === signals[rightName];
    };
  }
  if (operator === '!=') {
    return (signals) => {
      const left = signals[leftName];
      const right = signals[rightName];
      return typeof left === type && typeof right === type && left !== right;
    };
  }
  const order = NUMBER_ORDERINGS[operator];
  return (signals) => {
    const left = signals[leftName];
    const right = signals[rightName];
    return typeof left === 'number' && typeof right === 'number' && order(left, right);
  };
}

const NUMBER_ORDERINGS: Record<'<' | '<=' | '>' | '>=', (left: number, right: number) => boolean> = {
  '<': (left, right) => left < right,
  '<=': (left, right) => left <= right,
  '>': (left, right) => left > right,
  '>=': (left, right) => left >= right,
};

function inLiteralList(name: SignalName, items: LiteralNode[], negated: boolean): Predicate {
  const values = new Set<LiteralValue>(items.map((item) => item.value));
  const type = SIGNAL_TYPES.get(name)!;
  if (negated) {
    return (signals) => {
      const value = signals[name];
      return typeof value === type && !values.has(value!);
    };
  }
  return (signals) => {
    const value = signals[name];
    return value !== null && value !== undefined && values.has(value);
  };
}

/** A list missing from the map is missing data: neither `in` nor `not in` matches. */
function inNamedList(name: SignalName, listName: string, negated: boolean): Predicate {
  if (negated) {
    return (signals, lists) => {
      const value = signals[name];
      const list = lists?.get(listName);
      return typeof value === 'string' && list !== undefined && !list.has(value);
    };
  }
  return (signals, lists) => {
    const value = signals[name];
    return typeof value === 'string' && lists?.get(listName)?.has(value) === true;
  };
}

// ---------------------------------------------------------------------------------------------------
// Entry point
// ---------------------------------------------------------------------------------------------------

/**
 * Compiles one rule. Expected failures are returned, never thrown: the first syntax error (the parser
 * does not recover), or every unknown signal, unknown list and type mismatch, in source order.
 */
export function compileRule(source: string, options: CompileRuleOptions = {}): CompileRuleResult {
  if (source.length > RULE_SOURCE_LENGTH_MAX) {
    const message = `The rule is ${source.length} characters long; a rule may have at most ${RULE_SOURCE_LENGTH_MAX} characters (the excess starts at ${describePosition(source, RULE_SOURCE_LENGTH_MAX)}). Split it into simpler rules.`;
    return { ok: false, errors: [makeError(source, 'rule_too_complex', RULE_SOURCE_LENGTH_MAX, message)] };
  }
  if (source.trim().length === 0) {
    const message = 'The rule is empty; write an action and a condition, as in block if :buyer_payments_1h: > 30.';
    return { ok: false, errors: [makeError(source, 'rule_syntax', 0, message)] };
  }
  let tree: RuleNode;
  try {
    tree = createParser(source, tokenize(source)).parseRule();
  } catch (failure) {
    if (failure instanceof RuleParseFailure) return { ok: false, errors: [failure.error] };
    throw failure;
  }
  const context: CheckContext = { source, knownLists: options.knownLists, errors: [], signals: new Set(), lists: new Set() };
  const tooDeep = findTooDeep(tree.condition, 1);
  if (tooDeep !== null) {
    const at = describePosition(source, tooDeep.offset);
    const message = `The condition is nested more than ${RULE_DEPTH_MAX} levels deep at ${at} (each and, or, not and comparison is a level); simplify the rule.`;
    context.errors.push(makeError(source, 'rule_too_complex', tooDeep.offset, message));
  }
  checkCondition(context, tree.condition);
  if (context.errors.length > 0) {
    return { ok: false, errors: context.errors.sort((left, right) => left.offset - right.offset) };
  }
  const rule: CompiledRule = {
    action: tree.action,
    source,
    signals: [...context.signals],
    lists: [...context.lists],
    matches: compileCondition(tree.condition),
  };
  return { ok: true, rule };
}
