// What verify's parts share: a check's result and outcome, verify's input and options. A leaf: it
// imports none of verify's other modules, so every part can use these without an import circle.
import { Settings } from "../../config";
import { Unchecked } from "../aws/faults";
import { Clock, Deadline } from "../clock";
import { PriceTable } from "../../plan/pricing";

/**
 * PASS, FAIL or WARN: the check ran. UNCHECKED: it could not run (why is in `unchecked`), which
 * is never a pass. INFO: a figure, not a judgement (the monthly cost).
 */
export type Status = "PASS" | "FAIL" | "WARN" | "UNCHECKED" | "INFO";

export interface CheckResult {
    check: string;
    /** account/Region the check is about (the account alone for account-wide checks). */
    scope: string;
    status: Status;
    message: string;
    fix?: string;
    /**
     * Every item the check reports (for the source-server checks, one entry per server), for
     * `--json`; the message shows counts and the first few only.
     */
    details?: Record<string, unknown>[];
    /** For UNCHECKED: why it could not run (and, for a refused call, the permission it needs). */
    unchecked?: Unchecked;
}

/** What a check function returns; the run adds which check it was and its scope. */
export type Outcome = Omit<CheckResult, "check" | "scope">;

export interface VerifyInput {
    settings: Settings;
    /** `pulumi stack output --json` of the stack. */
    outputs: Record<string, unknown>;
    /** The stack's name, for the commands the fixes name. */
    stack?: string;
    /** The --outputs file verify read (- for stdin), for the commands the fixes name; none: the stack's own. */
    outputsFile?: string;
    /** The price table for monthly-cost (--prices); default the list prices. */
    prices?: PriceTable;
    /** A server drilled or recovered longer ago than this is unproven again (--max-drill-age). */
    maxDrillAgeDays?: number;
    /** server-readiness: a server lagging more than this is behind (--max-lag, minutes). */
    maxLagMinutes?: number;
    /** server-readiness: a latest point in time older than this is behind (--max-snapshot-age, minutes). */
    maxSnapshotAgeMinutes?: number;
}

export const defaultMaxDrillAgeDays = 90;
/** server-readiness's defaults: the program's template takes a point in time every 10 minutes; three missed is behind. */
export const defaultMaxLagMinutes = 30;
export const defaultMaxSnapshotAgeMinutes = 30;

export interface ReadinessThresholds {
    maxLagMinutes: number;
    maxSnapshotAgeMinutes: number;
    maxDrillAgeDays: number;
}

export interface VerifyOptions {
    /** Called with what is being checked (account and Region) as verify moves on. */
    progress?: (line: string) => void;
    /** The time limit (--time-limit): checks not begun by then are not checked. */
    deadline?: Deadline;
    /** What "now" is for the age of the last drill (the tests' fake clock). */
    clock?: Clock;
}
