// The problems parseConfig reports for a raw config, without the namespace: what the config tests compare.
import { expect } from "chai";
import { ConfigError, RawConfig, parseConfig } from "../../config";

export function configProblems(raw: RawConfig): string[] {
    try {
        parseConfig(raw);
    } catch (err) {
        expect(err).to.be.instanceOf(ConfigError);
        return (err as ConfigError).problems.map((p) => p.replace(/^drs-cross-account-kms:/, ""));
    }
    throw new Error("expected a ConfigError");
}
