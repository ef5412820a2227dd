/** One printed figure of `npm run bench`. */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  /** The target as text, e.g. ">= 10000/s". */
  target?: string;
  /** Whether the target was met (absent when there is no target). */
  ok?: boolean;
  note?: string;
}
