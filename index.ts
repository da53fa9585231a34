// The Pulumi program's entry (Pulumi.yaml `main`): the program itself is program/.
import { deployStacks } from "./program";

export = deployStacks;
