// drill: proves recovery in the target with a DRS drill (never a recovery) as a key-user role,
// names the KMS refusals behind a failure, and cleans up; a plan unless --start.
import {
    awsFlags,
    configFileFlag,
    couldNotRun,
    defineCommand,
    jsonFlag,
    outputsFlag,
    pricesFlag,
    someUnchecked,
    stackFlag,
} from "../flags";
import { awsCommand, readPrices } from "../shared";

const flags = [
    stackFlag,
    outputsFlag,
    { flags: "--server <id>", kind: "list", help: "drill this extended source server (repeat it, or comma-separate IDs)" },
    { flags: "--count <n>", kind: "value", help: "servers per staging entry, from the healthy extended servers (default 1)" },
    { flags: "--start", kind: "switch", help: "start the drill; without it, a plan that starts nothing" },
    { flags: "--role <name>", kind: "value", help: "the key-user role to run as (default: the first of target.keyUserRoleNames)" },
    {
        flags: "--current-credentials",
        kind: "switch",
        help: "run as your current credentials (an Identity Center session), not a key-user role",
    },
    { flags: "--any-identity", kind: "switch", help: "run even as an identity without the key-use policy" },
    { flags: "--timeout <minutes>", kind: "value", help: "follow the job this long before giving up (default 60)" },
    { flags: "--keep", kind: "switch", help: "leave the drill instances running (default: terminate them at the end)" },
    { flags: "--cleanup", kind: "switch", help: "terminate the recovery instances of the drill job given with --job" },
    { flags: "--diagnose", kind: "switch", help: "only the KMS diagnosis of the drill job given with --job" },
    { flags: "--job <jobID>", kind: "list", help: "a drill job, for --cleanup, --diagnose or --failback (repeatable)" },
    {
        flags: "--failback",
        kind: "switch",
        help: "the way back: reverse replication of the --job drill's instances (kept with --keep) into their origin; a plan unless --start",
    },
    {
        flags: "--staging-role <arn>",
        kind: "list",
        help: "a role to read a staging account with, where the config names none (repeatable)",
    },
    { flags: "--target <account>", kind: "value", help: "the target account to drill, in a stack of several targets" },
    {
        flags: "--trail-wait <minutes>",
        kind: "value",
        help: "after the job ends, how long CloudTrail may still deliver before 'no KMS refusal found' (default 15)",
    },
    pricesFlag,
    jsonFlag("the plan and the results; progress on stderr"),
    configFileFlag,
    ...awsFlags,
] as const;

export const drill = defineCommand({
    flags,
    identities: "target, drill-identity, staging, you",
    exitCodes: `0 a dry run that would start, or every drilled server launched, 1 a server failed or timed out, ${couldNotRun}, ${someUnchecked} (the KMS diagnosis still waiting on CloudTrail included)`,
    help: () => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { drillHelp } = require("../../ops/drill") as typeof import("../../ops/drill");
        return [drillHelp()];
    },
    async run(options, context) {
        const aws = await awsCommand(options, context);
        if (!aws) return 0;
        const { drillCommand } = await import("../../ops/drill");
        return drillCommand(
            {
                ...aws.common,
                start: Boolean(options.start),
                cleanup: Boolean(options.cleanup),
                diagnose: Boolean(options.diagnose),
                failback: Boolean(options.failback),
                servers: options.server,
                count: options.count,
                role: options.role,
                currentCredentials: Boolean(options.currentCredentials),
                anyIdentity: Boolean(options.anyIdentity),
                timeout: options.timeout,
                keep: Boolean(options.keep),
                jobs: options.job,
                stagingRoles: options.stagingRole,
                target: options.target,
                trailWait: options.trailWait,
                prices: await readPrices(options.prices),
            },
            aws.awsDeps,
        );
    },
});
