// align-launch: brings each extended server's own launch configuration in line with the stack's
// launch settings (target.launch); a dry run unless --apply.
import { awsFlags, configFileFlag, couldNotRun, defineCommand, jsonFlag, outputsFlag, someUnchecked, stackFlag } from "../flags";
import { awsCommand } from "../shared";

const flags = [
    stackFlag,
    outputsFlag,
    {
        flags: "--server <id>",
        kind: "list",
        help: "only this extended server, or the one extending this staging server (repeat it, or comma-separate IDs)",
    },
    { flags: "--target <account>", kind: "value", help: "with a stack of several targets, the target to align (default: the only one)" },
    { flags: "--apply", kind: "switch", help: "make the changes; without it, a dry run that changes nothing" },
    jsonFlag("the plan, and the results with --apply; progress on stderr"),
    configFileFlag,
    ...awsFlags,
] as const;

export const alignLaunch = defineCommand({
    flags,
    identities: "target, you",
    exitCodes: `0 nothing to update (or everything updated), 1 servers to update (dry run), an update that failed, or a run stopped with servers left, ${couldNotRun}, ${someUnchecked}`,
    help: () => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { alignLaunchHelp } = require("../../ops/align-launch") as typeof import("../../ops/align-launch");
        return [alignLaunchHelp()];
    },
    async run(options, context) {
        const aws = await awsCommand(options, context);
        if (!aws) return 0;
        const { alignLaunchCommand } = await import("../../ops/align-launch");
        return alignLaunchCommand(
            { ...aws.common, apply: Boolean(options.apply), servers: options.server, target: options.target },
            aws.awsDeps,
        );
    },
});
