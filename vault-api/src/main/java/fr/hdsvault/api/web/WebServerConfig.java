package fr.hdsvault.api.web;

import org.apache.catalina.core.StandardHost;
import org.springframework.boot.tomcat.servlet.TomcatServletWebServerFactory;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.Ordered;

/** Tomcat as the vault needs it: FHIR OperationOutcomes for Tomcat's own errors, security headers on every response. */
@Configuration
public class WebServerConfig {

    @Bean
    WebServerFactoryCustomizer<TomcatServletWebServerFactory> fhirErrorReports() {
        // The host creates its error report valve from this class name when it starts.
        return factory -> factory.addContextCustomizers(context -> {
            if (context.getParent() instanceof StandardHost host) {
                host.setErrorReportValveClass(FhirErrorReportValve.class.getName());
            }
        });
    }

    @Bean
    FilterRegistrationBean<InvalidDateHeaders> invalidDateHeaders() {
        FilterRegistrationBean<InvalidDateHeaders> registration = new FilterRegistrationBean<>(new InvalidDateHeaders());
        registration.setOrder(Ordered.HIGHEST_PRECEDENCE + 1);
        return registration;
    }

    @Bean
    FilterRegistrationBean<SecurityHeaders> securityHeaders() {
        FilterRegistrationBean<SecurityHeaders> registration = new FilterRegistrationBean<>(new SecurityHeaders());
        registration.setOrder(Ordered.HIGHEST_PRECEDENCE);
        return registration;
    }
}
