/**
 * One frame's search: what it encoded and measured, what is still open, and the loop that encodes
 * the candidates a step of the engine picks until the step is done or a limit is hit. Every encode
 * and measurement of a lossy candidate updates the frame's model; the screen ladder's are recorded
 * but teach the model nothing. The steps themselves (what to pick, when to give up) are the
 * engine's.
 */
import type { OutputFormat } from '../contracts/config.ts';
import { type Candidate, candidateKey, type FrameSize } from './candidates.ts';
import { type Deadline, KNOWN_TIME_SAFETY, TIME_SAFETY } from './deadline.ts';
import {
  type LadderMemory,
  type LadderOutcome,
  mayAnswer,
  NO_LADDER_MEMORY,
} from './ladder-memory.ts';
import {
  type EngineModel,
  expectLadderStep,
  observeEncode,
  observeLadderStep,
  observeMeasurement,
  predict,
} from './model.ts';
import type { Encoded, EnginePort, Measurement } from './port.ts';
import { Pruning } from './pruning.ts';
import { type Scored, type ScoreTargets, scoreCandidate, scoreTargets } from './scoring.ts';
import {
  type AnyCandidate,
  isScreenCandidate,
  ladderTimeFactor,
  type ScreenCandidate,
  screenCandidateKey,
} from './screen-candidates.ts';
import type { MeasuredEncoding, SelectionRules } from './selection.ts';

/** One encode the engine tried, with its measurement when it took one. */
export interface Trial {
  readonly candidate: AnyCandidate;
  readonly encoded?: Encoded;
  readonly measurement?: Measurement;
  readonly error?: 'encode_failed' | 'measure_failed';
}

interface MutableTrial {
  candidate: AnyCandidate;
  encoded?: Encoded;
  measurement?: Measurement;
  error?: 'encode_failed' | 'measure_failed';
}

/**
 * Why a search step stopped: it `found` what it looked for, ran out of open candidates
 * (`exhausted`), gave up on the rest as hopeless (`infeasible`), could afford none in the time left
 * (`latency`), or reached the attempt limit (`attempts`).
 */
export type StopCause = 'found' | 'exhausted' | 'infeasible' | 'latency' | 'attempts';

/** One step of the search: which candidates it may encode and how it picks among them. */
export interface SearchStep {
  /** Whether the step may encode a candidate (on top of it being open). */
  readonly eligible: (candidate: Candidate) => boolean;
  /** The next encode among the open, eligible, affordable candidates; `undefined` for none. */
  readonly pick: (pool: readonly Scored[]) => Scored | undefined;
  /**
   * Whether an over-budget encoding is measured even once something meets the floor. Until then it
   * is always measured: it may be the answer, and its SSIM calibrates the model on this frame
   * (skipping it costs more encodes than it saves).
   */
  readonly measureOverBudget: boolean;
}

/**
 * Expected times of the screen ladder before any of its encodes, in ms (see
 * {@link FrameSearch.tryLadder}).
 */
export interface LadderCosts {
  /** Encode time of lossless WebP of the frame. */
  readonly encodeMs: number;
  /** Time to measure a ladder encoding that is not lossless. */
  readonly measureMs: number;
}

/**
 * How far over the budget a ladder step may be expected, from what it came to on the session's
 * earlier frames (`expectLadderStep`), before a frame without its own ladder memory passes it over:
 * the content of one scene varies from frame to frame, but a lossless coding several times the
 * budget (a busy page over a slow link) would only spend the latency budget the lossy search needs.
 */
export const LADDER_SIZE_SLACK = 1.5;

/** A step that encodes until it is done (see {@link FrameSearch.run}). */
export interface SearchLoop extends SearchStep {
  /** Whether the step has found what it looks for. */
  readonly done: () => boolean;
  /** Whether the affordable candidates are hopeless, ending the step; default never. */
  readonly giveUp?: (pool: readonly Scored[]) => boolean;
  /**
   * A second candidate to encode beside `next`, at the same time, when the search may run two
   * encodes at once (`FrameSearchSetup.parallelEncodes`); undefined: `next` alone.
   */
  readonly hedge?: (pool: readonly Scored[], next: Scored) => Scored | undefined;
}

/** What a {@link FrameSearch} starts from. */
export interface FrameSearchSetup {
  readonly frame: FrameSize;
  readonly port: EnginePort;
  /** The session's model, started on this frame (`startFrame`). */
  readonly model: EngineModel;
  /** The frame's candidate grid, in the order ties are broken. */
  readonly candidates: readonly Candidate[];
  readonly rules: SelectionRules;
  readonly deadline: Deadline;
  /** Most encodes for this frame. */
  readonly maxAttempts: number;
  /** Encodes the port may run at once (the cores the process has for them); default 1. */
  readonly parallelEncodes?: number;
}

/** The mutable state of one frame's search. */
export class FrameSearch {
  readonly rules: SelectionRules;
  readonly deadline: Deadline;
  readonly candidates: readonly Candidate[];
  private currentModel: EngineModel;
  private readonly allTrials: MutableTrial[] = [];
  private readonly allMeasured: MeasuredEncoding[] = [];
  private encodes = 0;
  private failed = 0;
  private readonly tried = new Set<string>();
  private readonly failedFormats = new Set<OutputFormat>();
  private readonly pruning = new Pruning();
  private readonly unmeasured: (MutableTrial & { candidate: Candidate })[] = [];
  private readonly targets: ScoreTargets;
  private readonly passedOver: string[] = [];

  constructor(private readonly setup: FrameSearchSetup) {
    this.rules = setup.rules;
    this.deadline = setup.deadline;
    this.candidates = setup.candidates;
    this.currentModel = setup.model;
    this.targets = scoreTargets(setup.rules);
  }

  /** The model, updated with every encode and measurement of this frame. */
  get model(): EngineModel {
    return this.currentModel;
  }

  /** Every encode tried, in order. */
  get trials(): readonly Trial[] {
    return this.allTrials;
  }

  /** Every encoding measured, in order. */
  get measured(): readonly MeasuredEncoding[] {
    return this.allMeasured;
  }

  /** Calls to `port.encode`, failed ones included. */
  get attempts(): number {
    return this.encodes;
  }

  /** Encodes and measurements that failed. */
  get failures(): number {
    return this.failed;
  }

  /** Not tried yet, and its format has not failed in this frame. */
  isOpen(candidate: Candidate): boolean {
    return !this.tried.has(candidateKey(candidate)) && !this.failedFormats.has(candidate.format);
  }

  /** Not ruled out by an over-budget encoding (see `pruning.ts`). */
  mayFit(candidate: Candidate): boolean {
    return this.pruning.mayFit(candidate);
  }

  /** Not ruled out by an under-floor encoding (see `pruning.ts`). */
  mayMeetFloor(candidate: Candidate): boolean {
    return this.pruning.mayMeetFloor(candidate);
  }

  /** Whether an encoding of this frame was over the budget. */
  hasOverBudget(): boolean {
    return this.pruning.hasOverBudget();
  }

  /** Whether a measured encoding of the tier fits the budget and meets the floor. */
  hasFit(inTier: (candidate: AnyCandidate) => boolean): boolean {
    return this.allMeasured.some(
      (e) =>
        e.ssim >= this.rules.minQualityScore &&
        e.bytes <= this.rules.budgetBytes &&
        inTier(e.candidate),
    );
  }

  /** Whether a measured encoding meets the floor. */
  hasValid(): boolean {
    return this.allMeasured.some((e) => e.ssim >= this.rules.minQualityScore);
  }

  /** The open candidates `eligible` accepts, in grid order. */
  openCandidates(eligible: (candidate: Candidate) => boolean): Candidate[] {
    return this.candidates.filter((c) => this.isOpen(c) && eligible(c));
  }

  /** `candidates` scored by the current model, kept when the deadline affords them. */
  affordable(candidates: readonly Candidate[]): Scored[] {
    return this.deadline.affordable(
      candidates.map((c) => this.score(c)),
      this.encodes,
    );
  }

  /** `candidate` scored by the current model against the frame's budget and floor. */
  score(candidate: Candidate): Scored {
    return scoreCandidate(this.currentModel, candidate, this.setup.frame, this.targets);
  }

  /**
   * Encodes one candidate picked from the open, eligible, affordable ones until the loop is done,
   * the pool runs dry, the loop gives up on the rest, or a limit is hit.
   */
  async run(loop: SearchLoop): Promise<StopCause> {
    for (;;) {
      if (loop.done()) return 'found';
      const open = this.openCandidates(loop.eligible);
      if (open.length === 0) return 'exhausted';
      if (this.encodes >= this.setup.maxAttempts) return 'attempts';
      const pool = this.affordable(open);
      if (pool.length > 0 && loop.giveUp?.(pool) === true) return 'infeasible';
      const next = loop.pick(pool);
      if (next === undefined) return 'latency';
      const hedge = this.hedgeFor(loop, pool, next);
      if (hedge === undefined) await this.attempt(next.candidate, loop);
      else await this.attemptBoth(next.candidate, hedge.candidate, loop);
    }
  }

  /** The loop's second candidate for `next`, when two encodes can run at once and both count. */
  private hedgeFor(loop: SearchLoop, pool: readonly Scored[], next: Scored): Scored | undefined {
    if ((this.setup.parallelEncodes ?? 1) < 2 || loop.hedge === undefined) return undefined;
    if (this.encodes + 2 > this.setup.maxAttempts) return undefined;
    return loop.hedge(pool, next);
  }

  /** At most one encode, of the candidate the step picks among the open, eligible, affordable ones. */
  async tryOnce(step: SearchStep): Promise<void> {
    if (this.encodes >= this.setup.maxAttempts) return;
    const next = step.pick(this.affordable(this.openCandidates(step.eligible)));
    if (next !== undefined) await this.attempt(next.candidate, step);
  }

  /** Measures the over-budget encodings left unmeasured, smallest first, until one meets the floor. */
  async measureUnmeasured(): Promise<StopCause> {
    const bySize = [...this.unmeasured].sort(
      (a, b) => (a.encoded?.bytes ?? 0) - (b.encoded?.bytes ?? 0),
    );
    for (const trial of bySize) {
      const bytes = trial.encoded?.bytes ?? 0;
      const smallerValid = this.allMeasured.some(
        (e) => e.ssim >= this.rules.minQualityScore && e.bytes <= bytes,
      );
      if (smallerValid) return 'found';
      const prediction = predict(this.currentModel, trial.candidate, this.setup.frame);
      if (prediction.measureMs > this.deadline.remainingMs()) return 'latency';
      await this.measure(trial);
    }
    return this.hasValid() ? 'found' : 'exhausted';
  }

  /**
   * Encodes the screen ladder in order until an encoding fits the budget and meets the floor
   * (`found`) or the attempt limit is hit (`attempts`); else `latency` when a step was passed over
   * that the time left did not afford but a whole latency budget would (or that `memory` says would
   * answer), `exhausted` when none was.
   * Only encodings that fit are measured: an over-budget one is never what the ladder stops at, and
   * the lossy search may still fit. Trials count like any other; the model's regressions learn
   * nothing from them (see `screen-candidates.ts`), but the model keeps what each step came to on
   * the session's frames (`observeLadderStep`).
   *
   * A step `memory` knows cannot fit the budget or meet the floor is passed over without encoding
   * it; without `memory` of it, so is a step that came to more than {@link LADDER_SIZE_SLACK} times
   * the budget on the session's earlier frames. A step is expected to take what it took before,
   * encode and measurement (with {@link KNOWN_TIME_SAFETY}), else its `ladderTimeFactor` times
   * lossless WebP's encode time (this frame's, else {@link FrameSearch.losslessStepMs}) and the
   * model's measurement time (with {@link TIME_SAFETY}). A step that is not affordable is passed
   * over, not the ones after it, which may be quicker.
   */
  async tryLadder(
    ladder: readonly ScreenCandidate[],
    costs: LadderCosts,
    memory: LadderMemory = NO_LADDER_MEMORY,
  ): Promise<StopCause> {
    return this.runLadder(ladder, costs, memory);
  }

  /**
   * Keys of the ladder steps passed over for want of time that a whole latency budget affords, or
   * that the frame's ladder memory says would answer.
   */
  get ladderPassedOver(): readonly string[] {
    return this.passedOver;
  }

  private async runLadder(
    ladder: readonly ScreenCandidate[],
    costs: LadderCosts,
    memory: LadderMemory,
  ): Promise<StopCause> {
    const lossless = ladder.find((candidate) => candidate.encoding === 'lossless');
    let losslessMs = lossless ? this.losslessStepMs(lossless, memory, costs) : costs.encodeMs;
    let { measureMs } = costs;
    const failed = new Set<string>();
    for (const candidate of ladder) {
      if (failed.has(candidate.format)) continue;
      if (this.encodes >= this.setup.maxAttempts) return 'attempts';
      const key = screenCandidateKey(candidate);
      const known = memory[key];
      if (known && !mayAnswer(known, this.rules.budgetBytes, this.rules.minQualityScore)) continue;
      const usual = known ? undefined : expectLadderStep(this.currentModel, key, this.setup.frame);
      if (usual && usual.bytes > LADDER_SIZE_SLACK * this.rules.budgetBytes) continue;
      const plannedMs = this.ladderStepMs(candidate, known, losslessMs, measureMs);
      if (plannedMs > this.deadline.remainingMs()) {
        // A remembered step that would answer counts whatever its time: that was one encode's.
        if (known !== undefined || plannedMs <= this.deadline.spanMs) this.passedOver.push(key);
        continue;
      }
      const trial = await this.encodeTrial(candidate, key);
      if (trial.encoded === undefined) {
        failed.add(candidate.format);
        continue;
      }
      this.currentModel = observeLadderStep(
        this.currentModel,
        key,
        this.setup.frame,
        trial.encoded,
      );
      if (candidate.encoding === 'lossless') losslessMs = trial.encoded.encodeMs;
      if (trial.encoded.bytes > this.rules.budgetBytes) continue;
      await this.measure(trial);
      if (trial.measurement !== undefined) {
        if (candidate.encoding !== 'lossless') measureMs = trial.measurement.measureMs;
        if (trial.measurement.ssim >= this.rules.minQualityScore) return 'found';
      }
    }
    return this.passedOver.length > 0 ? 'latency' : 'exhausted';
  }

  /**
   * Lossless WebP's expected encode time: the lesser of what it took on this content before and
   * `costs.encodeMs` (a remembered time may have met a busy machine), else what it takes on the
   * session's frames, else `costs.encodeMs`.
   */
  private losslessStepMs(
    lossless: ScreenCandidate,
    memory: LadderMemory,
    costs: LadderCosts,
  ): number {
    const key = screenCandidateKey(lossless);
    const known = memory[key]?.encodeMs;
    if (known !== undefined) return Math.min(known, costs.encodeMs);
    return expectLadderStep(this.currentModel, key, this.setup.frame)?.encodeMs ?? costs.encodeMs;
  }

  /**
   * The time to plan for a ladder step, with headroom: what it took before (its encode, and its
   * measurement unless lossless), else its share of lossless WebP's encode time on this content
   * (`ladderTimeFactor`) and the model's measurement time.
   */
  private ladderStepMs(
    candidate: ScreenCandidate,
    known: LadderOutcome | undefined,
    losslessMs: number,
    measureMs: number,
  ): number {
    const measured = candidate.encoding === 'lossless' ? 0 : 1;
    if (known !== undefined) {
      return KNOWN_TIME_SAFETY * (known.encodeMs + measured * (known.measureMs ?? measureMs));
    }
    return TIME_SAFETY * (losslessMs * ladderTimeFactor(candidate) + measured * measureMs);
  }

  /** Encodes one candidate and records the trial; a failed encode is recorded and counted. */
  private async encodeTrial<C extends AnyCandidate>(
    candidate: C,
    key: string,
  ): Promise<MutableTrial & { candidate: C }> {
    this.tried.add(key);
    this.encodes += 1;
    const trial: MutableTrial & { candidate: C } = { candidate };
    this.allTrials.push(trial);
    try {
      trial.encoded = await this.setup.port.encode(candidate);
    } catch {
      trial.error = 'encode_failed';
      this.failed += 1;
    }
    return trial;
  }

  private async attempt(candidate: Candidate, step: SearchStep): Promise<void> {
    const trial = await this.encodeTrial(candidate, candidateKey(candidate));
    if (this.recordEncode(trial, step)) await this.measure(trial);
  }

  /**
   * Encodes `first` and `second` at once, then goes on as {@link attempt} with `first`, and with
   * `second` unless `first` ended the loop: the second encode ran in time the first took anyway,
   * and saves a whole encode when the first misses.
   */
  private async attemptBoth(first: Candidate, second: Candidate, loop: SearchLoop): Promise<void> {
    const [a, b] = await Promise.all([
      this.encodeTrial(first, candidateKey(first)),
      this.encodeTrial(second, candidateKey(second)),
    ]);
    if (this.recordEncode(a, loop)) await this.measure(a);
    const measureB = this.recordEncode(b, loop);
    if (measureB && !loop.done()) await this.measure(b);
  }

  /**
   * Learns from an encode of the lossy grid; returns whether it is to be measured now. A format
   * whose encoder fails once is not retried in this frame (e.g. AVIF unavailable).
   */
  private recordEncode(trial: MutableTrial & { candidate: Candidate }, step: SearchStep): boolean {
    const { candidate, encoded } = trial;
    if (encoded === undefined) {
      this.failedFormats.add(candidate.format);
      return false;
    }
    this.currentModel = observeEncode(this.currentModel, candidate, this.setup.frame, encoded);
    if (encoded.bytes > this.rules.budgetBytes) {
      this.pruning.addOverBudget(candidate);
      // Once something meets the floor, an over-budget encoding only matters if nothing fits: it
      // waits for measureUnmeasured.
      if (!step.measureOverBudget && this.hasValid()) {
        this.unmeasured.push(trial);
        return false;
      }
    }
    return true;
  }

  private async measure(trial: MutableTrial): Promise<void> {
    const encoded = trial.encoded;
    if (encoded === undefined) return;
    try {
      trial.measurement = await this.setup.port.measure(encoded);
    } catch {
      trial.error = 'measure_failed';
      this.failed += 1;
      return;
    }
    const { candidate, measurement } = trial;
    this.allMeasured.push({ ...encoded, ...measurement });
    // The ladder stays outside the model: it neither learns from nor prunes the lossy grid.
    if (isScreenCandidate(candidate)) return;
    this.currentModel = observeMeasurement(
      this.currentModel,
      candidate,
      this.setup.frame,
      measurement,
    );
    if (measurement.ssim < this.rules.minQualityScore) this.pruning.addUnderFloor(candidate);
  }
}
