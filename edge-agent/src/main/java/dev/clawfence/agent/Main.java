package dev.clawfence.agent;

/** Placeholder replaced by the CLI step. */
public final class Main {
    private Main() {}

    public static void main(String[] args) {
        System.out.println("clawfence-agent");
    }
}
