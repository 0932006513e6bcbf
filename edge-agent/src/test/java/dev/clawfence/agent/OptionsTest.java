package dev.clawfence.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** The command line by hand: both value forms, every flag, and usage errors that name the flag. */
class OptionsTest {

    @Test
    void everyFlagInBothForms() throws Options.UsageException {
        Options options = Options.parse(new String[] {"--config", "/etc/cf.yaml", "--server=cp.example.com:8443", "--token", "cfe1.a.b",
                "--state-dir=/srv/cf", "--backend", "iptables", "--check-config", "--print-config", "--uninstall", "--verbose"});

        assertThat(options).isEqualTo(new Options(Path.of("/etc/cf.yaml"), "cp.example.com:8443", "cfe1.a.b", "/srv/cf", "iptables",
                true, true, true, true, false, false));
    }

    @Test
    void nothingGivenIsNothingSet() throws Options.UsageException {
        assertThat(Options.parse(new String[0])).isEqualTo(new Options(null, null, null, null, null, false, false, false, false, false, false));
    }

    @Test
    void shortAndLongHelpAndVersion() throws Options.UsageException {
        assertThat(Options.parse(new String[] {"-h"}).help()).isTrue();
        assertThat(Options.parse(new String[] {"--help"}).help()).isTrue();
        assertThat(Options.parse(new String[] {"-V"}).version()).isTrue();
        assertThat(Options.parse(new String[] {"--version"}).version()).isTrue();
    }

    @Test
    void aValueMayBeEmptyOrContainEqualsSigns() throws Options.UsageException {
        assertThat(Options.parse(new String[] {"--token=cfe1.x=y.z"}).token()).isEqualTo("cfe1.x=y.z");
        assertThat(Options.parse(new String[] {"--server="}).server()).isEmpty();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "--frobnicate                    | Unknown option: '--frobnicate'",
        "--frobnicate=1                  | Unknown option: '--frobnicate'",
        "-x                              | Unknown option: '-x'",
        "state                           | Unmatched argument at index 0: 'state'",
        "--verbose extra                 | Unmatched argument at index 1: 'extra'",
        "--config                        | Missing required parameter for option '--config' (FILE)",
        "--server --verbose              | Missing required parameter for option '--server' (HOST:PORT)",
        "--backend nftables --backend=iptables | option '--backend' (NAME) should be specified only once",
        "--verbose --verbose             | option '--verbose' should be specified only once",
        "--uninstall=yes                 | option '--uninstall' takes no value, got 'yes'",
    })
    void aUsageErrorNamesTheFlagOrArgument(String line, String message) {
        assertThatThrownBy(() -> Options.parse(line.trim().split(" +")))
                .isInstanceOf(Options.UsageException.class)
                .hasMessage(message);
    }

    @Test
    void helpListsEveryFlagWithItsValueAndDescriptionWrappedAtEightyColumns() {
        assertThat(Options.usage()).isEqualTo("""
                Usage: clawfence-agent [-hV] [--config=FILE] [--server=HOST:PORT]
                                       [--token=TOKEN] [--state-dir=DIR] [--backend=NAME]
                                       [--check-config] [--print-config] [--uninstall]
                                       [--verbose]
                Enforces this host's Clawfence network policy with nftables (iptables + ipset as
                fallback).
                Reads /etc/clawfence/agent.yaml (or --config) and CLAWFENCE_AGENT_* environment
                variables; flags win.
                      --config=FILE        YAML configuration file (default:
                                             /etc/clawfence/agent.yaml, optional).
                      --server=HOST:PORT   Control plane address (env CLAWFENCE_AGENT_SERVER).
                      --token=TOKEN        One-time enrolment token cfe1.<secret>.<pin> (env
                                             CLAWFENCE_AGENT_TOKEN).
                      --state-dir=DIR      State directory (default /var/lib/clawfence; env
                                             CLAWFENCE_AGENT_STATE_DIR).
                      --backend=NAME       auto, nftables, iptables or dry-run (env
                                             CLAWFENCE_AGENT_BACKEND).
                      --check-config       Validate the configuration, print every problem by
                                             key, exit 2 on error.
                      --print-config       Print the effective configuration as YAML (token
                                             hidden) and exit.
                      --uninstall          Remove the agent's ruleset (table inet clawfence, or
                                             its iptables chains and ipsets) and exit.
                      --verbose            Show stack traces with errors.
                  -h, --help               Show this help message and exit.
                  -V, --version            Print version information and exit.
                """);
        assertThat(Options.usage().lines()).allSatisfy(line -> assertThat(line.length()).isLessThanOrEqualTo(80));
    }
}
