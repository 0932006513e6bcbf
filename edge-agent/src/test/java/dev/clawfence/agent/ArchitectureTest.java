package dev.clawfence.agent;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** The agent's boundaries: enforcement and configuration know nothing of the wire; only sync talks gRPC. */
class ArchitectureTest {

    private static final JavaClasses AGENT = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.clawfence.agent");

    @Test
    void enforcersNeverSeeWireMessages() {
        noClasses().that().resideInAPackage("..agent.enforce..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.clawfence.proto..", "io.grpc..", "..agent.sync..", "..agent.state..")
                .check(AGENT);
    }

    @Test
    void onlySyncAndTheCommandLineTalkGrpc() {
        noClasses().that().resideOutsideOfPackage("..agent.sync..").and().doNotHaveFullyQualifiedName(Main.class.getName())
                .should().dependOnClassesThat().resideInAnyPackage("io.grpc..")
                .check(AGENT);
    }

    @Test
    void configurationIsPlainData() {
        noClasses().that().resideInAPackage("..agent.config..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.clawfence.proto..", "io.grpc..", "..agent.state..", "..agent.sync..")
                .check(AGENT);
    }

    @Test
    void theSystemdNotifierIsPlainJdk() {
        noClasses().that().resideInAPackage("..agent.systemd..")
                .should().dependOnClassesThat().resideOutsideOfPackages("java..", "..agent.systemd..", "..agent.linux..")
                .check(AGENT);
    }

    @Test
    void onlyEnforcersRunCommands() {
        noClasses().that().resideOutsideOfPackage("..agent.enforce..")
                .should().callConstructor(ProcessBuilder.class, String[].class)
                .orShould().callConstructor(ProcessBuilder.class, java.util.List.class)
                .check(AGENT);
    }
}
