// The tests' shared mocks module: the program run under Pulumi mocks (plan/mockRuntime.ts),
// plus helpers to read the shipped stack files and pick registrations.
import { spawnSync } from "child_process";
import * as path from "path";
import { configNamespace, programConfig } from "../../config";
import { ProgramRun, RecordingMocks, Registration, RunOptions, runProgram as runWithConfig } from "../../plan/mockRuntime";
import { readStackConfig } from "../../plan/synth";

export { MockKey, RecordingMocks, Registration, installMocks, settle, unwrap } from "../../plan/mockRuntime";

const namespace = `${configNamespace}:`;

/** Runs index.ts under mocks; config keys are given without the project namespace. */
export function runProgram(
    config: Record<string, unknown>,
    stackOutputs: Record<string, Record<string, unknown>> = {},
    options: Pick<RunOptions, "aws" | "onStart"> = {},
): Promise<ProgramRun> {
    const full: Record<string, unknown> = { "pulumi:disable-default-providers": ["*"] };
    for (const [key, value] of Object.entries(config)) full[`${namespace}${key}`] = value;
    return runWithConfig(full, { stackOutputs, ...options });
}

/** Reads a shipped stack file's config, keys without the project namespace. */
export function stackFileConfig(stack: string): Record<string, unknown> {
    return programConfig(readStackConfig(path.join(__dirname, "..", "..", `Pulumi.${stack}.yaml`)));
}

/** Registrations of one type, by name: registration order is not deterministic. */
export function byType(mocks: RecordingMocks, type: string): Registration[] {
    return mocks.registrations.filter((r) => r.type === type).sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Runs the dev command line in a process of its own, as a user would, from the repository root.
 * PATH is empty, so the Pulumi CLI is never found: stacks come from their files and --outputs.
 */
export function spawnCli(...args: string[]) {
    return spawnSync(process.execPath, ["-r", "sucrase/register/ts", path.join(__dirname, "..", "..", "cli", "index.ts"), ...args], {
        cwd: path.join(__dirname, "..", ".."),
        encoding: "utf8",
        env: { ...process.env, PATH: "" },
    });
}
