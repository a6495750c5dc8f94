package fr.hdsvault.api.bulk;

import java.time.Instant;
import java.util.List;

/**
 * What a Bulk Data kick-off asked for, checked ({@link ExportKickoff}), as the job keeps it.
 *
 * @param level       the whole vault, every patient, or one Group's members
 * @param groupId     the Group of a group-level export, else null
 * @param types       the resource types asked for ({@code _type}); empty for every type
 * @param since       only resources updated from this instant ({@code _since}), or null
 * @param typeFilters {@code _typeFilter} queries, {@code Type?query}, as given
 * @param patients    patient ids of a POST's {@code patient} parameter; empty for every patient in scope
 */
public record ExportRequest(Level level, String groupId, List<String> types, Instant since, List<String> typeFilters,
                            List<String> patients) {

    public enum Level { SYSTEM, PATIENT, GROUP }

    public ExportRequest {
        types = List.copyOf(types);
        typeFilters = List.copyOf(typeFilters);
        patients = List.copyOf(patients);
    }
}
