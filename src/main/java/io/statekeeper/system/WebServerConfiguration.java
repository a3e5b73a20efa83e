package io.statekeeper.system;

import org.springframework.boot.tomcat.servlet.TomcatServletWebServerFactory;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.stereotype.Component;

/**
 * Lets encoded slashes ({@code %2F}) through Tomcat so that the request firewall refuses
 * them with a problem body, instead of Tomcat's bare HTML 400 page.
 */
@Component
class WebServerConfiguration implements WebServerFactoryCustomizer<TomcatServletWebServerFactory> {

	@Override
	public void customize(TomcatServletWebServerFactory factory) {
		factory.addConnectorCustomizers((connector) -> connector.setEncodedSolidusHandling("passthrough"));
		factory.addContextCustomizers((context) -> ((org.apache.catalina.core.StandardHost) context.getParent())
			.setErrorReportValveClass(ProblemErrorReportValve.class.getName()));
	}

}
