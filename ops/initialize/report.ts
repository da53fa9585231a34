// initialize's words and exit code: the plan and each place's result as printed, the stop, the next
// step, and exitCodeOf. Formatting only: nothing here calls AWS.
import { plural } from "../../config/text";
import { ApplyOutcome, InitializePlan, PlacePlan, PlaceResult, Stop } from "./types";

const statusWords: Record<PlacePlan["status"], string> = {
    initialised: "initialised",
    "not-initialised": "not initialised",
    unchecked: "not checked",
};

export const configOnlyNote =
    "The stack has no outputs (not deployed yet, or no --outputs without the Pulumi CLI): its places come from its config alone.";

function placeLine(place: PlacePlan): string {
    const head = `${place.accountId}/${place.region} (${place.sides.join(", ")}): ${statusWords[place.status]}`;
    if (place.status === "unchecked") return `${head}: ${place.why}. Fix: ${place.fix ?? "run again"}.`;
    return place.why ? `${head}: ${place.why}` : head;
}

/** The plan in words, place by place; a dry run says so first. */
export function formatPlan(plan: InitializePlan, apply: boolean): string {
    const lines = apply ? [] : ["Dry run: nothing is changed. Run again with --apply to initialise DRS where it is not.", ""];
    if (plan.configOnly) lines.push(configOnlyNote, "");
    lines.push(...plan.places.map(placeLine));
    for (const target of plan.regionless) lines.push(`target ${target.accountId}: not checked: ${target.why}.`);
    return lines.join("\n");
}

export function formatResult(r: PlaceResult): string {
    return `  ${r.status.padEnd(11)} ${r.accountId}/${r.region}: ${r.message}`;
}

/** The stop in one message: where, why, what was done before it, and the command that resumes. */
export function formatStop(stop: Stop): string {
    const place = `${stop.accountId}/${stop.region}`;
    const before = `${plural(stop.initialised, "place was", "places were")} initialised by this run before it.`;
    const sent = stop.sentHere
        ? ` InitializeService was sent in ${place}: a re-run reads it first and does not send it again once DRS answers there.`
        : "";
    const needs =
        stop.action === "drs:InitializeService"
            ? " InitializeService creates DRS's roles with your permissions: `npm run -s initialize -- --print-policy` lists them."
            : "";
    const grant = stop.permission ? `Grant ${stop.permission} in ${stop.accountId}, then resume: ` : "Resume: ";
    return `error: stopped at ${place}: ${stop.message}. ${before}${sent}${needs} ${grant}${stop.resume} (places initialised already are skipped).`;
}

/** The step after initialising, for a stack with a staging side: `pulumi up` creates the replication settings template. */
export function nextStep(stack: string | undefined, deploy: string, plan: InitializePlan): string | undefined {
    if (deploy === "target" || !plan.places.some((p) => p.sides.includes("staging"))) return undefined;
    return (
        `\`pulumi up --stack ${stack ?? "<stack>"}\` creates the replication settings template in each staging account and Region ` +
        "(each entry's replication settings): DRS has none until then."
    );
}

/**
 * Exit code: 2 a stop before anything was done for lack of permission; 1 findings (a place not
 * initialised in a dry run, a place that failed, a run stopped with places left); 3 when nothing
 * was found but a place could not be checked (or a target has no known Region); 0 done.
 */
export function exitCodeOf(plan: InitializePlan, outcome?: ApplyOutcome): number {
    if (outcome?.stopped) return outcome.results.length === 0 && outcome.stopped.reason === "access" && !outcome.stopped.sentHere ? 2 : 1;
    const findings = outcome ? outcome.results.some((r) => r.status === "failed") : plan.places.some((p) => p.status === "not-initialised");
    if (findings) return 1;
    return plan.places.some((p) => p.status === "unchecked") || plan.regionless.length > 0 ? 3 : 0;
}
