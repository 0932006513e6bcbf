package dev.clawfence.controlplane;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;
import dev.clawfence.controlplane.database.Database;
import java.util.UUID;
import java.util.function.Function;

/** Structure rules: thin handlers, and one way into a tenant's data. */
@AnalyzeClasses(packages = "dev.clawfence.controlplane", importOptions = ImportOption.DoNotIncludeTests.class)
class ArchitectureTest {

    /** REST controllers and the gRPC service translate and delegate; they never query. */
    @ArchTest
    static final ArchRule handlersDoNotTouchTheDatabase = noClasses()
            .that().haveSimpleNameEndingWith("Controller").or().haveSimpleName("AdminService")
            .or().haveSimpleName("AgentGatewayService")
            .should().dependOnClassesThat().resideInAnyPackage("org.jooq..", "dev.clawfence.controlplane.database..");

    /** Tenant data is reached only through TenantAccess, which checks the caller before it opens the tenant. */
    @ArchTest
    static final ArchRule tenantContextIsOpenedOnlyByTenantAccess = noClasses()
            .that().resideOutsideOfPackage("dev.clawfence.controlplane.database..")
            .and().doNotHaveSimpleName("TenantAccess")
            .should().callMethod(Database.class, "inTenant", UUID.class, Function.class);
}
