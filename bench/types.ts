/** One line of the `npm run bench` table. Every figure is measured against a baseline of the same run. */
export interface BenchRow {
  figure: string;
  /** What the figure is compared with, in words, and its measured value. */
  baseline: string;
  /** The measured value, in words with units. */
  measured: string;
  /** The ratio or count the target is about, when there is one. */
  ratio?: number;
  target: string;
  /** null when the figure is reported without a target. */
  met: boolean | null;
  notes?: string;
}

export interface Bench {
  name: string;
  run(): Promise<BenchRow[]>;
}
