// What the commands that talk to AWS (verify, align-servers) read of a deployed stack: its outputs
// (`pulumi stack output --json`), its config, and the role to assume in each account.
import * as fs from "fs";
import * as path from "path";
import { ConfigError, Settings, parseConfig, programConfig } from "../config";
import { SynthError, readStackConfig } from "./synth";

export interface DeployedStack {
    outputs: Record<string, unknown>;
    settings: Settings;
    /** The role the program's provider assumes in each account (undefined: the current credentials). */
    roleArns: Map<string, string | undefined>;
}

/** Reads `--outputs` (a file, or - for stdin) and the stack's config; a user mistake is a SynthError. */
export function readDeployedStack(stack: string, outputsFile: string, configFile?: string): DeployedStack {
    let outputs: Record<string, unknown>;
    try {
        outputs = JSON.parse(fs.readFileSync(outputsFile === "-" ? 0 : outputsFile, "utf8"));
    } catch (err) {
        const why = (err as NodeJS.ErrnoException).code ? `cannot be read (${(err as Error).message})` : "is not JSON";
        throw new SynthError(`--outputs ${why}: pass the output of \`pulumi stack output --json\`, as a file or - for stdin.`);
    }
    if (outputs === null || typeof outputs !== "object" || Array.isArray(outputs)) {
        throw new SynthError("--outputs is not a JSON object: pass the output of `pulumi stack output --json`.");
    }
    const config = readStackConfig(configFile ?? path.join(__dirname, "..", `Pulumi.${stack}.yaml`));
    let settings: Settings;
    try {
        settings = parseConfig(programConfig(config)).settings;
    } catch (err) {
        if (err instanceof ConfigError) throw new SynthError(err.message);
        throw err;
    }
    const roleArns = new Map<string, string | undefined>([[settings.target.accountId, settings.target.roleArn]]);
    for (const entry of settings.stagingAccounts) roleArns.set(entry.accountId, entry.roleArn);
    return { outputs, settings, roleArns };
}
