// CrossGuard policy pack: `pulumi preview --policy-pack policy`. Each rule has its default
// enforcement level (rules.ts); Pulumi's policy config changes any of them
// (`--policy-pack-config policy-config.json`, policy/README.md).
import { PolicyPack } from "@pulumi/policy";
import { packPolicies } from "./rules";

new PolicyPack("drs-cross-account-kms", { policies: packPolicies() });
