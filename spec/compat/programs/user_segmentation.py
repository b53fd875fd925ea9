"""aws-samples next_steps/core_use_cases/user_segmentation: an
aws-item-affinity solution over interactions and a textual items dataset
(schema "version": 1, a number), its metrics, and a batch segment job over
a JSON Lines file of item ids whose output is read as the notebook reads
it (`input.itemId`, `output.usersList`); then the samples' clean-up.

As the notebook: the item CSV is written with pandas' index (ITEM_ID is
the index), the dataset group is waited for, the datasets are not; the
solution version is created right after describe_solution. Polls of two
and three minutes as the notebook's. Left out: the IAM role (named here).
"""
import json
import time

import boto3

import compat
import cleanup


def main():
    personalize = boto3.client(service_name="personalize")
    s3 = boto3.client("s3")
    items, inter = compat.retail(users=120, items=150, seed=17)
    interactions_filename = "interactions.csv"
    compat.write_frame(compat.path(interactions_filename),
                       [r for r in inter if r["EVENT_TYPE"] == "Purchase" or r["USER_ID"] < "5"],
                       ["USER_ID", "ITEM_ID", "TIMESTAMP"])
    items_with_desc_only_filename = "items_desc.csv"
    with open(compat.path(items_with_desc_only_filename), "w") as f:  # meta[['DESCRIPTION']].to_csv(index=True)
        f.write("ITEM_ID,DESCRIPTION\n")
        for i in items:
            f.write('%s,"%s"\n' % (i["ITEM_ID"], i["PRODUCT_DESCRIPTION"]))

    def wait_for_dataset_group_job(dataset_group_arn):
        compat.wait(lambda: personalize.describe_dataset_group(datasetGroupArn=dataset_group_arn), "datasetGroup")

    def wait_for_dataset_import_job(dataset_import_job_arn):
        return compat.wait(lambda: personalize.describe_dataset_import_job(
            datasetImportJobArn=dataset_import_job_arn), "datasetImportJob", seconds=120)

    def wait_for_solution_version_job(solution_version_arn):
        return compat.wait(lambda: personalize.describe_solution_version(
            solutionVersionArn=solution_version_arn), "solutionVersion", seconds=180)

    def wait_for_batch_segment_job(batch_segment_job_arn):
        return compat.wait(lambda: personalize.describe_batch_segment_job(
            batchSegmentJobArn=batch_segment_job_arn), "batchSegmentJob", seconds=180)

    def import_dataset(job_name, dataset_arn, data_s3_url, role_arn):
        arn = personalize.create_dataset_import_job(
            jobName=job_name, datasetArn=dataset_arn, dataSource={"dataLocation": data_s3_url},
            roleArn=role_arn)["datasetImportJobArn"]
        compat.active(wait_for_dataset_import_job(arn), job_name)

    interactions_schema = {"type": "record", "name": "Interactions",
                           "namespace": "com.amazonaws.personalize.schema",
                           "fields": [{"name": "USER_ID", "type": "string"}, {"name": "ITEM_ID", "type": "string"},
                                      {"name": "TIMESTAMP", "type": "long"}],
                           "version": "1.0"}
    interactions_schema_arn = personalize.create_schema(
        name="notebook-amazon-grocery-interaction-schema-demo", schema=json.dumps(interactions_schema))["schemaArn"]
    items_schema = {"type": "record", "name": "Items", "namespace": "com.amazonaws.personalize.schema",
                    "fields": [{"name": "ITEM_ID", "type": "string"},
                               {"name": "DESCRIPTION", "type": ["string", "null"], "textual": True}],
                    "version": 1}
    items_schema_arn = personalize.create_schema(
        name="notebook-amazon-grocery-meta-item-schema-demo", schema=json.dumps(items_schema))["schemaArn"]

    dataset_group_arn = personalize.create_dataset_group(
        name="notebook-amazon-grocery-meta-demo")["datasetGroupArn"]
    wait_for_dataset_group_job(dataset_group_arn)
    interactions_dataset_arn = personalize.create_dataset(
        name="interactions", datasetType="INTERACTIONS", datasetGroupArn=dataset_group_arn,
        schemaArn=interactions_schema_arn)["datasetArn"]
    items_dataset_arn = personalize.create_dataset(
        name="items", datasetType="ITEMS", datasetGroupArn=dataset_group_arn,
        schemaArn=items_schema_arn)["datasetArn"]

    bucket_name = compat.bucket_name("personalize-user-segmentation-demo")
    compat.personalize_bucket(bucket_name)
    for name in [interactions_filename, items_with_desc_only_filename]:
        boto3.Session().resource("s3").Bucket(bucket_name).Object(name).upload_file(compat.path(name))
    role_arn = compat.ROLE_ARN
    import_dataset("notebook-ag-inters-import", interactions_dataset_arn,
                   "s3://" + bucket_name + "/" + interactions_filename, role_arn)
    import_dataset("notebook-items-textual-import", items_dataset_arn,
                   "s3://" + bucket_name + "/" + items_with_desc_only_filename, role_arn)

    item_user_recipe = "arn:aws:personalize:::recipe/aws-item-affinity"
    solution_arn = personalize.create_solution(
        name="item-affinity-amazon-grocery-meta-demo", datasetGroupArn=dataset_group_arn,
        recipeArn=item_user_recipe)["solutionArn"]
    personalize.describe_solution(solutionArn=solution_arn)
    solution_version_arn = personalize.create_solution_version(solutionArn=solution_arn)["solutionVersionArn"]
    compat.active(wait_for_solution_version_job(solution_version_arn), "solution version")
    metrics = personalize.get_solution_metrics(solutionVersionArn=solution_version_arn)["metrics"]
    print(metrics)
    compat.expect("hits_at_1_percent" in metrics and "recall_at_1_percent" in metrics,
                  "item-affinity metrics: %s" % sorted(metrics))

    batch_file_name = "query-amazon-grocery.json"
    with open(compat.path(batch_file_name), "w") as f:
        for i in items[:20]:
            f.write(json.dumps({"itemId": i["ITEM_ID"]}) + "\n")
    boto3.Session().resource("s3").Bucket(bucket_name).Object(batch_file_name).upload_file(
        compat.path(batch_file_name))
    batch_input_path = "s3://" + bucket_name + "/" + batch_file_name
    batch_output_path = "s3://" + bucket_name + "/output/"
    obj = s3.get_object(Bucket=bucket_name, Key=batch_file_name)
    print(obj["Body"].read().decode("utf-8").split("\n")[:3])

    topk = len({r["USER_ID"] for r in inter}) // 100
    batch_segment_job_arn = personalize.create_batch_segment_job(
        jobName="notebook-query-demo-500", solutionVersionArn=solution_version_arn, numResults=topk,
        jobInput={"s3DataSource": {"path": batch_input_path}},
        jobOutput={"s3DataDestination": {"path": batch_output_path}},
        roleArn=role_arn)["batchSegmentJobArn"]
    compat.active(wait_for_batch_segment_job(batch_segment_job_arn), "batch segment job")

    obj = s3.get_object(Bucket=bucket_name, Key="output/" + batch_file_name + ".out")
    prediction = {}
    for line in obj["Body"].read().decode("utf-8").splitlines():
        if line.strip():
            x = json.loads(line)
            prediction[x["input"]["itemId"]] = x["output"]["usersList"]
    compat.expect(len(prediction) == 20, "segments for %d items" % len(prediction))
    compat.expect(all(len(u) <= topk for u in prediction.values()), "more than numResults users")

    cleanup.delete_dataset_groups([dataset_group_arn], [], compat.REGION)


compat.run(main)
