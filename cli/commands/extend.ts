// extend: extends the servers replicating into each staging account into the target account, so
// the target can recover them; a dry run unless --apply.
import { awsFlags, configFileFlag, couldNotRun, defineCommand, jsonFlag, outputsFlag, someUnchecked, stackFlag } from "../flags";
import { awsCommand, batchOf } from "../shared";

const flags = [
    stackFlag,
    outputsFlag,
    {
        flags: "--server <id>",
        kind: "list",
        help: "only this staging source server, by its ID or ARN (repeat it, or comma-separate them)",
    },
    { flags: "--apply", kind: "switch", help: "create the extended servers; without it, a dry run that changes nothing" },
    {
        flags: "--batch <n>",
        kind: "value",
        help: "with --apply, extend n servers, read them back until DRS shows them extended, then the next n (default 10)",
    },
    {
        flags: "--staging-role <arn>",
        kind: "list",
        help: "a role to read a staging account with, where the config names none (repeatable)",
    },
    { flags: "--target <account>", kind: "value", help: "the target account, in a stack of several targets (default: the first)" },
    jsonFlag("the plan, and the results with --apply; progress on stderr"),
    configFileFlag,
    ...awsFlags,
] as const;

export const extend = defineCommand({
    flags,
    identities: "target, staging, you",
    exitCodes: `0 nothing to extend (or everything extended), 1 servers to extend (dry run), servers that cannot be extended, a create that failed, or a run stopped with servers left, ${couldNotRun}, ${someUnchecked}`,
    help: () => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { extendHelp } = require("../../ops/extend") as typeof import("../../ops/extend");
        return [extendHelp()];
    },
    async run(options, context) {
        const aws = await awsCommand(options, context);
        if (!aws) return 0;
        const batch = batchOf(options.batch, options.apply, "extends nothing");
        const { extendCommand } = await import("../../ops/extend");
        return extendCommand(
            {
                ...aws.common,
                apply: Boolean(options.apply),
                servers: options.server,
                batch,
                stagingRoles: options.stagingRole,
                target: options.target,
            },
            aws.awsDeps,
        );
    },
});
