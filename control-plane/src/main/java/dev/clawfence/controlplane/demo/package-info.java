/** The demo tenant created by {@code --demo}: a realistic policy to look at and a token to look with. */
package dev.clawfence.controlplane.demo;
