// The tests' shared mocks module: the program run under Pulumi mocks (tools/mockRuntime.ts),
// plus helpers to read the shipped stack files and pick registrations.
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { ProgramRun, RecordingMocks, Registration, runProgram as runWithConfig } from "../tools/mockRuntime";

export { RecordingMocks, Registration, installMocks, settle, unwrap } from "../tools/mockRuntime";

const namespace = "drs-cross-account-kms:";

/** Runs index.ts under mocks; config keys are given without the project namespace. */
export function runProgram(
    config: Record<string, unknown>,
    stackOutputs: Record<string, Record<string, unknown>> = {},
): Promise<ProgramRun> {
    const full: Record<string, unknown> = { "pulumi:disable-default-providers": ["*"] };
    for (const [key, value] of Object.entries(config)) full[`${namespace}${key}`] = value;
    return runWithConfig(full, { stackOutputs });
}

/** Reads a shipped stack file's config, keys without the project namespace. */
export function stackFileConfig(stack: string): Record<string, unknown> {
    const file = path.join(__dirname, "..", `Pulumi.${stack}.yaml`);
    const doc = yaml.load(fs.readFileSync(file, "utf8")) as { config: Record<string, unknown> };
    const config: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(doc.config)) {
        if (key.startsWith(namespace)) config[key.slice(namespace.length)] = value;
    }
    return config;
}

/** Registrations of one type, by name: registration order is not deterministic. */
export function byType(mocks: RecordingMocks, type: string): Registration[] {
    return mocks.registrations.filter((r) => r.type === type).sort((a, b) => a.name.localeCompare(b.name));
}
