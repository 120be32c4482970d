// The learned model: an L2-regularised logistic regression over the numeric and boolean signals,
// trained by Newton's method (iteratively reweighted least squares, each step solved with ml-matrix's
// Cholesky decomposition) and scored in process with a dot product. mljs's ml-logistic-regression was
// tried first: it runs plain full-batch gradient descent with no regularisation and took 35 s for
// 6,000 rows; Newton's method converges in a dozen steps and trains on 30,000 rows in about a second. Each score comes with the signals that pushed it up the most, which become reason
// codes. A trained model is plain JSON, stored versioned in `risk_models` and loaded without a restart.
import { CholeskyDecomposition, Matrix } from 'ml-matrix';
import { FEATURE_NAMES, SIGNALS, type SignalName, type Signals } from './model.ts';
import { seededRandom } from './seeded-random.ts';

export const MODEL_FORMAT = 'micropay-risk-logistic/1';

type Transform = 'flag' | 'log' | 'ratio';

export interface ModelFeature {
  name: SignalName;
  transform: Transform;
  mean: number;
  deviation: number;
  weight: number;
}

export interface TrainedModel {
  format: typeof MODEL_FORMAT;
  bias: number;
  features: ModelFeature[];
  trainedAt: string;
  rows: number;
  fraudRows: number;
}

export interface Contribution {
  name: SignalName;
  contribution: number;
}

export interface ModelScore {
  probability: number;
  /** The features that raised the score, largest first (at most three). */
  top: Contribution[];
}

export interface TrainingRow {
  signals: Partial<Signals>;
  fraud: boolean;
}

export interface TrainOptions {
  /** Newton steps at most (each is one pass over the rows and one solve). */
  steps?: number;
  /** L2 penalty on the standardised weights (not on the bias). */
  l2?: number;
  /** Honest rows kept per fraudulent row; the rest are sampled out and the bias corrected for it. */
  honestPerFraud?: number;
  seed?: number;
}

const RATIO_CAP = 10;
const STEPS_MAX = 50;
const ROWS_MAX = 200_000;

function transformOf(name: SignalName): Transform {
  if (SIGNALS[name].type === 'boolean') return 'flag';
  if (/(ratio|rate|average|concentration)/.test(name)) return 'ratio';
  return 'log';
}

function raw(value: unknown, transform: Transform): number {
  if (value === null || value === undefined) return 0;
  if (transform === 'flag') return value === true ? 1 : 0;
  const number = typeof value === 'number' && Number.isFinite(value) ? value : 0;
  if (transform === 'ratio') return Math.min(Math.max(number, 0), RATIO_CAP);
  return Math.log1p(Math.max(number, 0));
}

export function trainModel(rows: readonly TrainingRow[], options: TrainOptions = {}): TrainedModel {
  const fraudRows = rows.filter((row) => row.fraud);
  if (fraudRows.length < 10) throw new Error(`training needs at least 10 fraudulent rows, got ${fraudRows.length}`);
  const honestRows = rows.filter((row) => !row.fraud);
  const honestPerFraud = options.honestPerFraud ?? 5;
  const fraudKeepRate = Math.min(1, ROWS_MAX / rows.length);
  const keepRate = Math.min(1, (fraudRows.length * honestPerFraud) / Math.max(1, honestRows.length), fraudKeepRate);
  const random = seededRandom(options.seed ?? 1);
  const kept = [...fraudRows.filter(() => random() < fraudKeepRate), ...honestRows.filter(() => random() < keepRate)];

  const names = FEATURE_NAMES;
  const transforms = names.map(transformOf);
  const values = kept.map((row) => names.map((name, index) => raw(row.signals[name], transforms[index]!)));
  const means = names.map((_, column) => values.reduce((sum, row) => sum + row[column]!, 0) / values.length);
  const deviations = names.map((_, column) => {
    const variance = values.reduce((sum, row) => sum + (row[column]! - means[column]!) ** 2, 0) / values.length;
    return Math.sqrt(variance) || 1;
  });
  const standardised = values.map((row) => Float64Array.from([1, ...row.map((value, column) => (value - means[column]!) / deviations[column]!)]));
  const weights = newton(standardised, kept.map((row) => (row.fraud ? 1 : 0)), Math.min(options.steps ?? 25, STEPS_MAX), options.l2 ?? 1);
  // Sampling honest rows out raised the prior odds of fraud by fraudKeepRate / keepRate; undo it.
  const bias = weights[0]! + Math.log(keepRate / fraudKeepRate);
  return {
    format: MODEL_FORMAT,
    bias,
    features: names.map((name, index) => ({ name, transform: transforms[index]!, mean: means[index]!, deviation: deviations[index]!, weight: weights[index + 1]! })),
    trainedAt: new Date().toISOString(),
    rows: kept.length,
    fraudRows: fraudRows.length,
  };
}

/** Fits weights (bias first) by Newton's method on the penalised log-likelihood. */
function newton(rows: readonly Float64Array[], labels: readonly number[], steps: number, l2: number): number[] {
  const width = rows[0]!.length;
  let weights = new Float64Array(width);
  for (let step = 0; step < steps; step += 1) {
    const gradient = new Float64Array(width);
    const hessian = Array.from({ length: width }, () => new Float64Array(width));
    for (let index = 0; index < rows.length; index += 1) {
      const row = rows[index]!;
      let logit = 0;
      for (let column = 0; column < width; column += 1) logit += weights[column]! * row[column]!;
      const probability = 1 / (1 + Math.exp(-logit));
      const error = labels[index]! - probability;
      const curvature = Math.max(probability * (1 - probability), 1e-9);
      for (let column = 0; column < width; column += 1) {
        const value = row[column]!;
        gradient[column]! += error * value;
        if (value === 0) continue;
        const line = hessian[column]!;
        for (let other = 0; other <= column; other += 1) line[other]! += curvature * value * row[other]!;
      }
    }
    for (let column = 0; column < width; column += 1) {
      for (let other = 0; other < column; other += 1) hessian[other]![column] = hessian[column]![other]!;
      if (column > 0) {
        gradient[column]! -= l2 * weights[column]!;
        hessian[column]![column]! += l2;
      }
      hessian[column]![column]! += 1e-9;
    }
    const delta = new CholeskyDecomposition(new Matrix(hessian.map((line) => Array.from(line)))).solve(Matrix.columnVector(Array.from(gradient))).to1DArray();
    let change = 0;
    weights = weights.map((weight, column) => {
      change = Math.max(change, Math.abs(delta[column]!));
      return weight + delta[column]!;
    });
    if (change < 1e-6) break;
  }
  return Array.from(weights);
}

export function scoreModel(model: TrainedModel, signals: Partial<Signals>): ModelScore {
  let logit = model.bias;
  const top: Contribution[] = [];
  for (const feature of model.features) {
    const contribution = (feature.weight * (raw(signals[feature.name], feature.transform) - feature.mean)) / feature.deviation;
    logit += contribution;
    if (contribution > 0.25) insertTop(top, { name: feature.name, contribution });
  }
  return { probability: 1 / (1 + Math.exp(-logit)), top };
}

function insertTop(top: Contribution[], entry: Contribution): void {
  let index = top.length;
  while (index > 0 && top[index - 1]!.contribution < entry.contribution) index -= 1;
  if (index >= 3) return;
  top.splice(index, 0, entry);
  if (top.length > 3) top.pop();
}

/** Checks that `value` is a model this code can score; throws with a clear message otherwise. */
export function parseModel(value: unknown): TrainedModel {
  const model = value as TrainedModel;
  if (!model || model.format !== MODEL_FORMAT || !Array.isArray(model.features) || typeof model.bias !== 'number') {
    throw new Error(`not a ${MODEL_FORMAT} model`);
  }
  for (const feature of model.features) {
    if (!FEATURE_NAMES.includes(feature.name)) throw new Error(`the model uses an unknown signal: ${feature.name}`);
    if (![feature.mean, feature.deviation, feature.weight].every(Number.isFinite)) throw new Error(`the model's feature ${feature.name} is not finite`);
  }
  return model;
}
