/**
 * Backups of the vault: a backup set is a consistent point in time written to a second object
 * store, made of snapshot items (written by a {@link fr.hdsvault.backup.BackupSource}), the
 * ciphertext objects they reference (copied as they are, incrementally) and a signed
 * {@link fr.hdsvault.backup.Manifest}. {@link fr.hdsvault.backup.BackupRunner} writes sets,
 * {@link fr.hdsvault.backup.BackupVerifier} checks them, {@link fr.hdsvault.backup.SetReader}
 * reads them back for a restore, {@link fr.hdsvault.backup.Retention} chooses what to keep.
 * docs/backup.md describes the layout and the format.
 */
package fr.hdsvault.backup;
