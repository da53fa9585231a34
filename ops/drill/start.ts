// --start: the drill itself. One StartRecovery per Region, each job followed to its end (or the
// timeout, or Ctrl-C), each server's result, then, before the clean-up terminates them, which key
// the recovered volumes use; the clean-up; and for a server that did not launch, the KMS diagnosis.
import { DescribeJobsCommand, Job, JobLog } from "@aws-sdk/client-drs";
import { IdentitySession } from "../aws/access";
import { failure } from "../aws/faults";
import { serverName } from "../aws/sourceServers";
import { plural } from "../../config/text";
import { DrillContext } from "./context";
import { cleanUp, describeLogItem, jobLog, resultOf, startJob } from "./job";
import { diagnose, keysOfServers, recoveredVolumes, settle } from "./proof";
import { DrillReport, JobReport, PlannedServer, defaultPollMs, defaultTimeoutMinutes } from "./types";

/** A started job as the drill follows it: its identity's session, its servers, its log so far. */
interface FollowedJob {
    job: JobReport;
    session: IdentitySession;
    servers: PlannedServer[];
    log: JobLog[];
    current?: Job;
}

/** Starts the planned drill, follows it, cleans up and diagnoses; the report says what happened, and its exit code. */
export async function startDrill(ctx: DrillContext, report: DrillReport): Promise<void> {
    const plan = report.plan!;
    // A drilled server settles whether it was on its key: what the plan could not read no longer counts.
    report.unchecked = [];
    const byRegion = new Map<string, PlannedServer[]>();
    for (const s of plan.servers) byRegion.set(s.region, [...(byRegion.get(s.region) ?? []), s]);
    const runs: FollowedJob[] = [];
    for (const [region, servers] of byRegion) {
        const ids = servers.map((s) => s.sourceServerID);
        const job: JobReport = { region, jobID: "", sourceServerIDs: ids };
        report.jobs.push(job);
        const started = await startJob(ctx, region, ids, job);
        if (!started) {
            ctx.io.err(`error: ${region}: ${job.error}\n`);
            continue;
        }
        job.jobID = started.job.jobID!;
        job.status = started.job.status;
        job.creationDateTime = started.job.creationDateTime;
        runs.push({ job, session: started.session, servers, log: [], current: started.job });
        ctx.deps.onJobStarted?.({ jobID: job.jobID, region });
        ctx.io.err(
            `Started drill job ${job.jobID} in ${region} (${plural(ids.length, "server")}) as ${report.identity?.callerArn ?? "the drill identity"}. ` +
                `If this run is stopped, clean up with: ${ctx.command(`--cleanup --job ${job.jobID}`)}\n`,
        );
    }
    if (runs.length === 0) {
        report.exitCode = 2;
        return;
    }
    const outcome = await follow(ctx, runs);
    for (const run of runs) {
        for (const s of run.servers) report.results.push(resultOf(ctx, run.job.jobID, run.current, run.log, s, outcome));
        run.job.status = run.current?.status ?? run.job.status;
        run.job.endDateTime = run.current?.endDateTime;
    }
    for (const job of report.jobs.filter((j) => j.error)) {
        for (const id of job.sourceServerIDs) {
            const s = plan.servers.find((x) => x.sourceServerID === id)!;
            report.results.push({
                sourceServerID: id,
                hostname: s.hostname,
                region: job.region,
                jobID: "",
                status: "failed",
                message: job.error,
            });
        }
    }
    // Before the clean-up terminates them: which key the recovered volumes use.
    report.volumes = await recoveredVolumes(ctx, report.results);
    for (const v of report.volumes.filter((x) => x.unchecked))
        report.unchecked.push(`${serverName(v)}: which key its recovered volumes use (${v.unchecked!.why})`);
    report.cleanup = await cleanUp(
        ctx,
        runs.map((r) => ({
            jobID: r.job.jobID,
            region: r.job.region,
            session: r.session,
            finished: r.current?.status === "COMPLETED",
        })),
        ctx.options.keep ?? false,
    );
    const unlaunched = report.results.filter((r) => r.status !== "launched" && r.jobID);
    if (unlaunched.length > 0 && outcome !== "interrupted") {
        const keys = keysOfServers(
            ctx,
            plan.servers.filter((s) => unlaunched.some((u) => u.sourceServerID === s.sourceServerID)),
        );
        // From a minute before the drill's own job: nothing before it is the drill's.
        const from = Math.min(...runs.map((r) => Date.parse(r.job.creationDateTime ?? "") || ctx.started)) - 60_000;
        const jobEnd = Math.max(...runs.map((r) => Date.parse(r.current?.endDateTime ?? "") || ctx.clock.now()));
        report.diagnosis = await diagnose(
            ctx,
            keys,
            from,
            jobEnd,
            runs.map((r) => r.job.jobID),
            true,
        );
    }
    settle(ctx, report);
    // Instances left running by a failed clean-up cost money until someone acts: that is a finding too.
    const findings = !report.results.every((r) => r.status === "launched") || report.cleanup.left.length > 0;
    report.exitCode = findings ? 1 : report.unchecked.length > 0 ? 3 : 0;
}

/** Reads each job until all complete, the timeout passes or Ctrl-C; progress on stderr. */
async function follow(ctx: DrillContext, runs: FollowedJob[]): Promise<"completed" | "timed out" | "interrupted"> {
    const pollMs = ctx.deps.pollMs ?? defaultPollMs;
    const deadline = ctx.clock.now() + (ctx.options.timeoutMinutes ?? defaultTimeoutMinutes) * 60_000;
    const signal = ctx.deps.signal;
    const stamp = () => {
        const s = Math.round((ctx.clock.now() - ctx.started) / 1000);
        return `[${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}]`;
    };
    const shown = new Map<string, string>();
    const done = new Set<string>();
    for (;;) {
        for (const run of runs) {
            if (done.has(run.job.jobID)) continue;
            try {
                const { items } = await run.session.drs.send(new DescribeJobsCommand({ filters: { jobIDs: [run.job.jobID] } }));
                run.current = items?.[0] ?? run.current;
            } catch (err) {
                ctx.io.err(`${stamp()} warning: reading job ${run.job.jobID} failed (${failure(err)}); trying again.\n`);
                continue;
            }
            // The log only tells what happened: a log that cannot be read does not hold up the job's status.
            try {
                const log = await jobLog(run.session.drs, run.job.jobID);
                for (const item of log.slice(run.log.length)) ctx.io.err(`${stamp()} ${run.job.jobID} ${describeLogItem(item)}\n`);
                run.log = log;
            } catch (err) {
                ctx.io.err(`${stamp()} warning: reading the log of job ${run.job.jobID} failed (${failure(err)}).\n`);
            }
            const servers = (run.current?.participatingServers ?? []).map((p) => `${p.sourceServerID} ${p.launchStatus ?? "?"}`).join(", ");
            const line = `job ${run.current?.status ?? "?"}: ${servers || "no server yet"}`;
            if (run.current?.status === "COMPLETED") done.add(run.job.jobID);
            if (shown.get(run.job.jobID) !== line) {
                shown.set(run.job.jobID, line);
                ctx.io.err(`${stamp()} ${run.job.jobID} ${line}\n`);
            }
        }
        if (runs.every((r) => done.has(r.job.jobID))) return "completed";
        if (signal?.aborted) return "interrupted";
        const left = deadline - ctx.clock.now();
        if (left <= 0) return "timed out";
        await ctx.clock.sleep(Math.min(pollMs, left), signal);
        if (signal?.aborted) return "interrupted";
    }
}
