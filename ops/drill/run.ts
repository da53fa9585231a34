// drill(): one run, in the mode asked. A plan (and the identity) first; a plan that would be
// refused stops there; --start then drills. --cleanup and --diagnose go by job instead. The
// phases live in plan.ts, identity.ts, start.ts and byJob.ts; this decides which run, and prints.
import { DrillAccess } from "../aws/access";
import { serverName } from "../aws/sourceServers";
import { delayedProgress } from "../io";
import { byJob } from "./byJob";
import { failbackDrill } from "./failback";
import { DrillContext, drillContext } from "./context";
import { resolveIdentity } from "./identity";
import { planDrill } from "./plan";
import { formatReport } from "./report";
import { startDrill } from "./start";
import { DrillDeps, DrillInput, DrillOptions, DrillReport } from "./types";

/** Plans, and in the mode asked, drills, cleans up or diagnoses; prints as it goes; returns the report. */
export async function drill(input: DrillInput, access: DrillAccess, options: DrillOptions, deps: DrillDeps): Promise<DrillReport> {
    const ctx = drillContext(input, access, options, deps);
    const report = await execute(ctx);
    print(ctx, report);
    return report;
}

function emptyReport(ctx: DrillContext): DrillReport {
    return {
        mode: ctx.options.mode,
        stack: ctx.input.stack,
        targetAccountId: ctx.target,
        targetAccess: ctx.targetAccess,
        blockers: [],
        jobs: [],
        results: [],
        volumes: [],
        diagnosis: [],
        unchecked: [],
        exitCode: 0,
    };
}

/** The report of the mode asked, without printing it. */
async function execute(ctx: DrillContext): Promise<DrillReport> {
    const report = emptyReport(ctx);
    if (ctx.options.mode.startsWith("failback")) {
        await failbackDrill(ctx, report);
        return report;
    }
    if (ctx.options.mode === "cleanup" || ctx.options.mode === "diagnose") {
        await byJob(ctx, report);
        return report;
    }
    const progress = delayedProgress(ctx.io, ctx.deps.progressDelayMs ?? 1000);
    try {
        report.plan = await planDrill(ctx, progress.update);
        report.identity = await resolveIdentity(ctx, report.plan.servers[0]?.region ?? ctx.regions[0], true);
    } finally {
        progress.done();
    }
    report.blockers = blockers(report);
    report.unchecked = [
        ...report.plan.servers.flatMap((s) =>
            s.onKey === "not checked" && !s.problem ? [`${serverName(s)}: whether it is on its key (${s.notChecked ?? "?"})`] : [],
        ),
        ...report.plan.unplanned.map((place) => `the servers of ${place} (the time limit came first)`),
    ];
    if (ctx.options.mode === "dry-run" || report.blockers.length > 0) {
        report.exitCode = report.blockers.length > 0 ? 2 : report.unchecked.length > 0 ? 3 : 0;
        return report;
    }
    if (ctx.deps.signal?.aborted) {
        report.blockers.push("Interrupted before the drill started: nothing was started.");
        report.exitCode = 2;
        return report;
    }
    await startDrill(ctx, report);
    return report;
}

/** Why --start does not (or would not) start: the plan's problems, and the identity's. */
function blockers(report: DrillReport): string[] {
    const blockers: string[] = [];
    const plan = report.plan!;
    for (const s of plan.servers) if (s.problem) blockers.push(`${serverName(s)}: ${s.problem}`);
    if (plan.servers.length === 0) blockers.push("No server to drill: no healthy extended server was found (see the notes).");
    if (plan.unplanned.length > 0)
        blockers.push(
            `The plan did not finish within --time-limit (${plan.unplanned.join(", ")} not planned): give a longer --time-limit.`,
        );
    const identity = report.identity;
    if (identity?.error) blockers.push(`Identity: ${identity.error}`);
    else if (identity?.refusal && !identity.overridden) blockers.push(`Identity: ${identity.refusal}`);
    return blockers;
}

function print(ctx: DrillContext, report: DrillReport): void {
    if (ctx.options.json) {
        ctx.io.out(`${JSON.stringify(report, null, 2)}\n`);
        return;
    }
    ctx.io.out(`${formatReport(report, ctx.command)}\n`);
}
