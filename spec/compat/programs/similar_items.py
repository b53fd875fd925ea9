"""aws-samples next_steps/core_use_cases/related_items
(personalize_aws_similar_items_example): SIMS and Similar-Items solutions
on interactions with EVENT_VALUE and items with nullable BRAND, PRICE and
a textual DESCRIPTION; both versions trained together and compared by
`trainingHours` (the notebook divides by SIMS's), two campaigns waited for
one after the other, related items described by brand, price and
interaction count, then the notebook's own clean-up (the two campaigns).

Data: retail-like products in place of the Amazon Pantry reviews. Left
out: the IAM role (named here) and its propagation sleep.
"""
import json
import time

import boto3

import compat


def main():
    s3 = boto3.client("s3")
    bucket_name = compat.bucket_name("personalize-similar-items")
    s3.create_bucket(Bucket=bucket_name)
    items, inter = compat.retail(users=110, items=160, seed=71)
    interactions_filename = "interactions.csv"
    positive_reviews_df = [{"USER_ID": r["USER_ID"], "ITEM_ID": r["ITEM_ID"], "TIMESTAMP": r["TIMESTAMP"],
                            "EVENT_VALUE": 4 + (r["TIMESTAMP"] % 2), "EVENT_TYPE": "rating"}
                           for r in inter if r["EVENT_TYPE"] == "View"]
    compat.write_frame(compat.path(interactions_filename), positive_reviews_df,
                       ["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_VALUE", "EVENT_TYPE"])
    counts = {}
    for r in positive_reviews_df:
        counts[r["ITEM_ID"]] = counts.get(r["ITEM_ID"], 0) + 1
    items_df = [{"ITEM_ID": i["ITEM_ID"], "BRAND": "Brand%d" % (n % 9) if n % 7 else None,
                 "PRICE": "%.2f" % i["PRICE"] if n % 11 else None, "DESCRIPTION": i["PRODUCT_DESCRIPTION"]}
                for n, i in enumerate(items) if i["ITEM_ID"] in counts]
    items_filename = "items.csv"
    compat.write_frame(compat.path(items_filename), items_df, ["ITEM_ID", "BRAND", "PRICE", "DESCRIPTION"])

    personalize = boto3.client("personalize")
    personalize_runtime = boto3.client("personalize-runtime")
    dataset_group = personalize.create_dataset_group(name="amazon-pantry-aws-similar-items")["datasetGroupArn"]
    in_progress_dataset_group_arns = [dataset_group]
    max_time = time.time() + 3 * 60 * 60
    while time.time() < max_time:
        for dataset_group_arn in list(in_progress_dataset_group_arns):
            status = personalize.describe_dataset_group(datasetGroupArn=dataset_group_arn)["datasetGroup"]["status"]
            if status in ("ACTIVE", "CREATE FAILED"):
                in_progress_dataset_group_arns.remove(dataset_group_arn)
        if len(in_progress_dataset_group_arns) <= 0:
            break
        time.sleep(10)

    interactions_schema = {"type": "record", "name": "Interactions", "namespace": "com.amazonaws.personalize.schema",
                           "fields": [{"name": "USER_ID", "type": "string"}, {"name": "ITEM_ID", "type": "string"},
                                      {"name": "TIMESTAMP", "type": "long"}, {"name": "EVENT_VALUE", "type": "float"},
                                      {"name": "EVENT_TYPE", "type": "string"}],
                           "version": "1.0"}
    interaction_schema_arn = personalize.create_schema(
        name="amazon-pantry-interactions-schema", schema=json.dumps(interactions_schema))["schemaArn"]
    interactions_dataset = personalize.create_dataset(
        name="amazon-pantry-interactions", datasetType="INTERACTIONS", datasetGroupArn=dataset_group,
        schemaArn=interaction_schema_arn)["datasetArn"]
    boto3.Session().resource("s3").Bucket(bucket_name).Object(items_filename).upload_file(compat.path(items_filename))
    boto3.Session().resource("s3").Bucket(bucket_name).Object(interactions_filename).upload_file(
        compat.path(interactions_filename))
    policy = {"Version": "2012-10-17", "Id": "PersonalizeS3BucketAccessPolicy",
              "Statement": [{"Sid": "PersonalizeS3BucketAccessPolicy", "Effect": "Allow",
                             "Principal": {"Service": "personalize.amazonaws.com"},
                             "Action": ["s3:*Object", "s3:ListBucket"],
                             "Resource": ["arn:aws:s3:::{}".format(bucket_name),
                                          "arn:aws:s3:::{}/*".format(bucket_name)]}]}
    s3.put_bucket_policy(Bucket=bucket_name, Policy=json.dumps(policy))
    role_arn = compat.ROLE_ARN

    dataset_import_job = personalize.create_dataset_import_job(
        jobName="amazon-pantry-interactions-import", datasetArn=interactions_dataset,
        dataSource={"dataLocation": "s3://{}/{}".format(bucket_name, interactions_filename)},
        roleArn=role_arn)["datasetImportJobArn"]
    item_schema = {"type": "record", "name": "Items", "namespace": "com.amazonaws.personalize.schema",
                   "fields": [{"name": "ITEM_ID", "type": "string"},
                              {"name": "BRAND", "type": ["null", "string"], "categorical": True},
                              {"name": "PRICE", "type": ["null", "float"]},
                              {"name": "DESCRIPTION", "type": ["null", "string"], "textual": True}],
                   "version": "1.0"}
    item_schema_arn = personalize.create_schema(
        name="amazon-pantry-items-schema", schema=json.dumps(item_schema))["schemaArn"]
    items_dataset_arn = personalize.create_dataset(
        name="amazon-pantry-items", datasetType="ITEMS", datasetGroupArn=dataset_group,
        schemaArn=item_schema_arn)["datasetArn"]
    items_import_job = personalize.create_dataset_import_job(
        jobName="amazon-pantry-items-import", datasetArn=items_dataset_arn,
        dataSource={"dataLocation": "s3://{}/{}".format(bucket_name, items_filename)},
        roleArn=role_arn)["datasetImportJobArn"]
    for arn in [dataset_import_job, items_import_job]:
        compat.active(compat.wait(lambda: personalize.describe_dataset_import_job(datasetImportJobArn=arn),
                                  "datasetImportJob"), "import")

    personalize.list_recipes()
    sims_solution_arn = personalize.create_solution(
        name="amazon-pantry-sims-solution-example", datasetGroupArn=dataset_group,
        recipeArn="arn:aws:personalize:::recipe/aws-sims")["solutionArn"]
    sims_solution_version_arn = personalize.create_solution_version(
        solutionArn=sims_solution_arn)["solutionVersionArn"]
    similar_items_solution_arn = personalize.create_solution(
        name="amazon-pantry-aws-similar-items-solution-example", datasetGroupArn=dataset_group,
        recipeArn="arn:aws:personalize:::recipe/aws-similar-items")["solutionArn"]
    similar_items_solution_version_arn = personalize.create_solution_version(
        solutionArn=similar_items_solution_arn)["solutionVersionArn"]
    in_progress = [sims_solution_version_arn, similar_items_solution_version_arn]
    max_time = time.time() + 10 * 60 * 60
    while time.time() < max_time:
        for arn in list(in_progress):
            status = personalize.describe_solution_version(solutionVersionArn=arn)["solutionVersion"]["status"]
            if status in ("ACTIVE", "CREATE FAILED"):
                compat.expect(status == "ACTIVE", "build failed for " + arn)
                in_progress.remove(arn)
        if len(in_progress) <= 0:
            break
        time.sleep(60)

    response = personalize.describe_solution_version(solutionVersionArn=sims_solution_version_arn)
    training_hours_sims = response["solutionVersion"]["trainingHours"]
    response = personalize.describe_solution_version(solutionVersionArn=similar_items_solution_version_arn)
    training_hours_similar_items = response["solutionVersion"]["trainingHours"]
    training_diff = (training_hours_similar_items - training_hours_sims) / training_hours_sims
    print("Difference of {:.2%}".format(training_diff))

    sims_solution = {"solution_arn": sims_solution_arn, "solution_version_arn": sims_solution_version_arn}
    similar_items_solution = {"solution_arn": similar_items_solution_arn,
                              "solution_version_arn": similar_items_solution_version_arn}

    def create_campaign(solution, name):
        return personalize.create_campaign(
            name="personalize-demo-" + name + "example", solutionVersionArn=solution["solution_version_arn"],
            minProvisionedTPS=1)["campaignArn"]

    def waitForCampaign(solution):
        d = compat.wait(lambda: personalize.describe_campaign(campaignArn=solution["campaign_arn"]), "campaign")
        compat.active(d, "campaign")

    sims_solution["campaign_arn"] = create_campaign(sims_solution, "sims")
    similar_items_solution["campaign_arn"] = create_campaign(similar_items_solution, "aws-similar-items")
    waitForCampaign(sims_solution)
    waitForCampaign(similar_items_solution)

    by_id = {i["ITEM_ID"]: i for i in items_df}
    asin = sorted(counts, key=lambda k: -counts[k])[5]
    for campaign in [sims_solution["campaign_arn"], similar_items_solution["campaign_arn"]]:
        rec_list = personalize_runtime.get_recommendations(campaignArn=campaign, itemId=asin,
                                                           numResults=15)["itemList"]
        rows = [[each["itemId"], by_id[each["itemId"]]["BRAND"], by_id[each["itemId"]]["PRICE"],
                 by_id[each["itemId"]]["DESCRIPTION"], counts[each["itemId"]]] for each in rec_list]
        compat.expect(len(rows) > 0 and all(r[0] != asin for r in rows), "related items: %r" % rows)

    personalize.delete_campaign(campaignArn=sims_solution["campaign_arn"])
    personalize.delete_campaign(campaignArn=similar_items_solution["campaign_arn"])


compat.run(main)
