// The policy pack on every resource of the program's plans: none is flagged. The rules themselves
// are tested in policy/test/rules.spec.ts.
import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ResourceUnderPolicy, violations } from "../../policy/rules";
import { synthesize } from "../../plan/synth";
import { SynthResult } from "../../plan/plan";

const staging = "444455556666";
const target = "111122223333";

function planResources(result: SynthResult): ResourceUnderPolicy[] {
    const plans = [result.plan, ...Object.values(result.references).map((r) => r.plan)];
    return plans.flatMap((plan) => {
        const providers = new Map(plan.resources.filter((r) => r.type.startsWith("pulumi:providers:")).map((r) => [r.urn, r.inputs]));
        return plan.resources.map((r) => ({
            type: r.type,
            props: r.inputs,
            providerProps: r.provider ? providers.get(r.provider) : undefined,
        }));
    });
}

describe("policy pack on the program's plans", () => {
    it("finds nothing in the program's own resources, across both shipped stacks", async () => {
        const resources = planResources(await synthesize("target"));
        expect(resources.length).to.be.greaterThan(10);
        expect(resources.flatMap(violations)).to.deep.equal([]);
    });

    it("finds nothing in a multi-Region staging stack: the primary and its replicas", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "policy-pack-"));
        const configFile = path.join(dir, "Pulumi.staging.yaml");
        const entry = (region: string) =>
            `    - accountId: "${staging}"\n      region: ${region}\n      replication:\n        stagingAreaSubnetId: subnet-0123456789abcdef0\n`;
        fs.writeFileSync(
            configFile,
            [
                "config:",
                '  pulumi:disable-default-providers: ["*"]',
                "  drs-cross-account-kms:deploy: staging",
                "  drs-cross-account-kms:target:",
                `    accountId: "${target}"`,
                "  drs-cross-account-kms:stagingAccounts:",
                entry("us-east-1") + entry("us-west-2") + entry("eu-west-1"),
                "  drs-cross-account-kms:key:",
                "    multiRegion: true",
                "    primaryRegion: us-east-1",
                "",
            ].join("\n"),
        );
        try {
            const resources = planResources(await synthesize("staging", { configFile }));
            expect(resources.filter((r) => r.type === "aws:kms/replicaKey:ReplicaKey")).to.have.length(2);
            expect(resources.filter((r) => r.type === "aws:kms/key:Key" && r.props.multiRegion === true)).to.have.length(1);
            expect(resources.flatMap(violations)).to.deep.equal([]);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
