package fr.hdsvault.api.fhir;

import ca.uhn.fhir.interceptor.api.Hook;
import ca.uhn.fhir.interceptor.api.Interceptor;
import ca.uhn.fhir.interceptor.api.Pointcut;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.rest.server.exceptions.InvalidRequestException;
import java.io.ByteArrayInputStream;
import java.util.Locale;
import javax.xml.stream.XMLInputFactory;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamReader;

/**
 * An XML body is FHIR only in the FHIR namespace: HAPI's parser reads {@code <Patient
 * xmlns="urn:anything">} as a Patient and would store it. The root element's namespace is
 * checked before HAPI parses the body (with DTDs and external entities refused, as HAPI does).
 */
@Interceptor
public final class StrictXml {

    static final String FHIR_NAMESPACE = "http://hl7.org/fhir";
    private static final XMLInputFactory XML = XMLInputFactory.newFactory();

    static {
        XML.setProperty(XMLInputFactory.SUPPORT_DTD, false);
        XML.setProperty(XMLInputFactory.IS_SUPPORTING_EXTERNAL_ENTITIES, false);
    }

    @Hook(Pointcut.SERVER_INCOMING_REQUEST_POST_PROCESSED)
    public boolean check(RequestDetails request) {
        String type = request.getHeader("Content-Type");
        if (type == null || !type.toLowerCase(Locale.ROOT).contains("xml")) {
            return true;
        }
        byte[] body = request.loadRequestContents();
        if (body == null || body.length == 0) {
            return true;
        }
        try {
            XMLStreamReader reader = XML.createXMLStreamReader(new ByteArrayInputStream(body));
            try {
                while (reader.hasNext() && reader.next() != XMLStreamReader.START_ELEMENT) {
                    // skip the prolog, comments and processing instructions
                }
                if (!reader.isStartElement() || !FHIR_NAMESPACE.equals(reader.getNamespaceURI())) {
                    throw new InvalidRequestException("An XML body must be a FHIR resource in the namespace " + FHIR_NAMESPACE);
                }
            } finally {
                reader.close();
            }
        } catch (XMLStreamException e) {
            throw new InvalidRequestException("The XML body is not well-formed, or declares a DTD");
        }
        return true;
    }
}
