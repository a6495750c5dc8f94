/** The backup module: arrives with its issue; see DESIGN.md. */
package fr.hdsvault.backup;
