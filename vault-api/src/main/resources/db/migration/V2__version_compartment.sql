-- Each version keeps the compartment it was written in: access to an old version is decided by
-- the patient it belonged to, not by where a later version of the resource moved.
alter table resource_version add column compartment varchar(128);
update resource_version v set compartment = (select c.compartment from resource_current c
    where c.tenant = v.tenant and c.resource_type = v.resource_type and c.resource_id = v.resource_id);
