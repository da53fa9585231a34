// --cleanup --job and --diagnose --job: a job an earlier run started, found by its ID in the
// stack's Regions. --cleanup terminates only what a job of this command's drill launched (its tag
// says so); --diagnose reads each server's result from the job, then CloudTrail for their keys.
import { Job, JobLog, SourceServer } from "@aws-sdk/client-drs";
import { IdentitySession } from "../aws/access";
import { failure, uncheckedOf } from "../aws/faults";
import { hostnameOf, listSourceServers } from "../aws/sourceServers";
import { DrillContext } from "./context";
import { windowMarginMs } from "./diagnosis";
import { identitySession, resolveIdentity } from "./identity";
import { cleanUp, drillTag, jobById, isDrillJob, jobLog, resultOf } from "./job";
import { diagnose, keysOfServers, settle } from "./proof";
import { DrillReport, PlannedServer } from "./types";

/** Finds the --job jobs, then cleans them up or diagnoses them; the report says what happened, and its exit code. */
export async function byJob(ctx: DrillContext, report: DrillReport): Promise<void> {
    const jobs = ctx.options.jobs ?? [];
    report.identity = await resolveIdentity(ctx, ctx.regions[0], false);
    if (report.identity.error) {
        report.blockers.push(`Identity: ${report.identity.error}`);
        report.exitCode = 2;
        return;
    }
    const found: { job: Job; region: string; session: IdentitySession }[] = [];
    for (const jobID of jobs) {
        const lookup = await jobById(ctx, jobID, async (region) => (await identitySession(ctx, region)).drs);
        if ("notFound" in lookup) {
            report.blockers.push(lookup.notFound);
            continue;
        }
        const hit = { ...lookup, session: await identitySession(ctx, lookup.region) };
        const ours = isDrillJob(hit.job);
        if (!ours && ctx.options.mode === "cleanup") {
            report.blockers.push(
                `Job ${jobID} was not started by this command's drill (no tag ${drillTag.key}=${drillTag.value}; initiated by ${hit.job.initiatedBy ?? "?"}): ` +
                    "its instances may be a real recovery's, and are left alone. Terminate drill instances in the DRS console (Recovery instances) if they are.",
            );
            continue;
        }
        found.push(hit);
        report.jobs.push({
            region: hit.region,
            jobID,
            sourceServerIDs: (hit.job.participatingServers ?? []).map((p) => p.sourceServerID ?? ""),
            status: hit.job.status,
            creationDateTime: hit.job.creationDateTime,
            endDateTime: hit.job.endDateTime,
        });
    }
    if (report.blockers.length > 0) {
        report.exitCode = 2;
        return;
    }
    if (ctx.options.mode === "cleanup") {
        report.cleanup = await cleanUp(
            ctx,
            found.map((f) => ({ jobID: f.job.jobID!, region: f.region, session: f.session, finished: true })),
            false,
        );
        report.exitCode = report.cleanup.left.length > 0 ? 1 : 0;
        return;
    }
    // --diagnose: each server's result from its job, then CloudTrail for the keys of the job's servers.
    const servers: PlannedServer[] = [];
    for (const { job, region, session } of found) {
        const ids = (job.participatingServers ?? []).map((p) => p.sourceServerID ?? "").filter(Boolean);
        // What cannot be read here only makes the report poorer (no job message, no hostname): said, not fatal.
        const readOrSay = async <T>(what: string, read: () => Promise<T>, none: T): Promise<T> => {
            try {
                return await read();
            } catch (err) {
                if (!uncheckedOf(err, ctx.target)) throw err;
                report.unchecked.push(`${what} of job ${job.jobID} (${failure(err)})`);
                return none;
            }
        };
        const log = await readOrSay("the log", () => jobLog(session.drs, job.jobID!), [] as JobLog[]);
        const described =
            ids.length > 0
                ? await readOrSay(
                      "the servers",
                      async () => listSourceServers(await ctx.access.drs(ctx.target, region), { sourceServerIDs: ids }),
                      [] as SourceServer[],
                  )
                : [];
        for (const id of ids) {
            const s = described.find((x) => x.sourceServerID === id);
            const account = s?.stagingArea?.stagingAccountID;
            const key = ctx.input.keys.find((k) => k.accountId === account && k.region === region);
            servers.push({
                sourceServerID: id,
                hostname: s ? hostnameOf(s) : undefined,
                region,
                stagingAccountId: account ?? "?",
                keyArn: key?.keyArn ?? "?",
                onKey: "not checked",
                warnings: [],
            });
            const result = resultOf(
                ctx,
                job.jobID!,
                job,
                log,
                { sourceServerID: id, hostname: s ? hostnameOf(s) : undefined, region },
                "running",
            );
            report.results.push(result);
        }
    }
    const from = Math.min(...found.map((f) => Date.parse(f.job.creationDateTime ?? "") || ctx.clock.now())) - windowMarginMs;
    const jobEnd = Math.max(...found.map((f) => Date.parse(f.job.endDateTime ?? "") || ctx.clock.now()));
    report.diagnosis = await diagnose(ctx, keysOfServers(ctx, servers), from, jobEnd, jobs, false);
    settle(ctx, report);
    // --diagnose answers why: refusals are its finding; a diagnosis still waiting on CloudTrail is 3, however the servers fared.
    const refused = report.diagnosis.some((d) => d.refusals.length > 0);
    report.exitCode = refused ? 1 : report.unchecked.length > 0 ? 3 : report.results.some((r) => r.status !== "launched") ? 1 : 0;
}
